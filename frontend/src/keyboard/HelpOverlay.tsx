import { useEffect, useRef } from "react";
import { KEYMAP } from "./keymap";

export interface LetterHelp {
  key: string;
  title: string;
}

export function HelpOverlay({ onClose, letters }: { onClose(): void; letters: LetterHelp[] }) {
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    closeRef.current?.focus();
    return () => previous?.focus?.();
  }, []);
  const rows = KEYMAP.filter((b) => b.id !== "close");
  return (
    <div className="overlay" onClick={onClose}>
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="help-title"
        onClick={(e) => e.stopPropagation()}
      >
        <h2 id="help-title">Keyboard shortcuts</h2>
        <table className="keymap-table">
          <tbody>
            {rows.map((b) => (
              <tr key={b.id}>
                <th scope="row">
                  {b.keys.map((k, i) => (
                    <kbd key={i}>{k}</kbd>
                  ))}
                </th>
                <td>{b.description}</td>
              </tr>
            ))}
            {letters.map((l) => (
              <tr key={`letter-${l.key}`}>
                <th scope="row">
                  <kbd>{l.key}</kbd>
                </th>
                <td>{l.title}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="hint">Keys do nothing while you type in a text box; press Esc to leave it.</p>
        <button ref={closeRef} type="button" className="btn" onClick={onClose}>
          Close <kbd>Esc</kbd>
        </button>
      </div>
    </div>
  );
}
