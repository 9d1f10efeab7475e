/** Krippendorff's alpha per dimension, with its 95% interval, level and per-category figures. */
import { ALPHA_FLAG, fixed, type DimensionAgreement } from "./qualityQueries";

export function AgreementTable({ dimensions }: { dimensions: DimensionAgreement[] }) {
  if (dimensions.length === 0) return <p className="muted">No agreement yet: it is computed by the first refit.</p>;
  return (
    <div className="adm-table-wrap">
      <table className="adm-table">
        <caption>Krippendorff's α (bootstrap 95% interval); under {ALPHA_FLAG} is flagged</caption>
        <thead>
          <tr>
            <th scope="col">Dimension</th>
            <th scope="col">Level</th>
            <th scope="col" className="adm-num">
              α
            </th>
            <th scope="col" className="adm-num">
              95% interval
            </th>
            <th scope="col" className="adm-num">
              Items
            </th>
            <th scope="col">Consensus by</th>
            <th scope="col">By prompt category</th>
          </tr>
        </thead>
        <tbody>
          {dimensions.map((d) => (
            <tr key={d.name} className={d.flagged ? "qc-flagged" : undefined}>
              <th scope="row">
                {d.name}
                {d.flagged && (
                  <span className="badge badge-warn qc-flag" title={`α under ${ALPHA_FLAG}: agreement too low to rely on`}>
                    low agreement
                  </span>
                )}
              </th>
              <td>{d.level}</td>
              <td className="adm-num">{fixed(d.alpha)}</td>
              <td className="adm-num">{d.ci95 ? `${fixed(d.ci95[0])} – ${fixed(d.ci95[1])}` : "—"}</td>
              <td className="adm-num">{d.n_units}</td>
              <td>{d.fit_method ?? "—"}</td>
              <td>
                {Object.keys(d.by_category).length === 0 ? (
                  <span className="muted">—</span>
                ) : (
                  <ul className="qc-cats">
                    {Object.entries(d.by_category).map(([category, c]) => (
                      <li key={category}>
                        {category || "(none)"}: {fixed(c.alpha)}
                        {c.flagged ? " ⚑" : ""}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
