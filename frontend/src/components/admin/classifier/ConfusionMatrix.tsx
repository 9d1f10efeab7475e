/** Confusion matrix as a picture: rows are the true class, columns the predicted one, shaded
 * by each row's share so a rare class reads as clearly as a common one. */
const CELL = 56;
const LEFT = 90;
const TOP = 40;

export function ConfusionMatrix({ classes, matrix, title }: { classes: string[]; matrix: number[][]; title: string }) {
  const w = LEFT + CELL * classes.length + 8;
  const h = TOP + CELL * classes.length + 8;
  const label = `${title}: rows true class, columns predicted class`;
  return (
    <figure className="clf-figure">
      <svg viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={label}>
        <title>{label}</title>
        {classes.map((c, j) => (
          <text key={`p-${c}`} x={LEFT + j * CELL + CELL / 2} y={TOP - 8} textAnchor="middle" className="clf-tick">
            {c}
          </text>
        ))}
        {matrix.map((row, i) => {
          const total = row.reduce((a, b) => a + b, 0) || 1;
          return (
            <g key={classes[i] ?? i}>
              <text x={LEFT - 8} y={TOP + i * CELL + CELL / 2 + 4} textAnchor="end" className="clf-tick">
                {classes[i]}
              </text>
              {row.map((n, j) => (
                <g key={j} data-testid="confusion-cell">
                  <rect
                    x={LEFT + j * CELL}
                    y={TOP + i * CELL}
                    width={CELL - 2}
                    height={CELL - 2}
                    className={i === j ? "clf-cell clf-cell-diag" : "clf-cell"}
                    fillOpacity={0.1 + 0.9 * (n / total)}
                  />
                  <text x={LEFT + j * CELL + CELL / 2} y={TOP + i * CELL + CELL / 2 + 4} textAnchor="middle" className="clf-count">
                    {n}
                  </text>
                </g>
              ))}
            </g>
          );
        })}
      </svg>
      <figcaption className="muted">Rows: true class · columns: predicted class</figcaption>
    </figure>
  );
}
