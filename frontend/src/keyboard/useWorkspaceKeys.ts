import { useEffect, useRef } from "react";
import { KEYMAP, type ActionId } from "./keymap";

/** A handler returns false when it did not act, so the browser's default goes ahead. */
export type KeyHandlers = Partial<Record<ActionId, (e: KeyboardEvent) => boolean | void>>;

/** Elements where keys are typing (or the browser's own keys), not shortcuts. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["radio", "checkbox", "button", "submit", "reset"].includes(target.type);
  }
  return false;
}

/** Enter and Space on these already mean "activate"; leave them alone. */
function isActivatable(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && !!target.closest("button, a[href], summary, [role=button]");
}

/** The one keyboard hook of the workspace: every key in KEYMAP, dispatched by id. */
export function useWorkspaceKeys(handlers: KeyHandlers, { helpOpen }: { helpOpen: boolean }) {
  const ref = useRef(handlers);
  ref.current = handlers;
  const helpRef = useRef(helpOpen);
  helpRef.current = helpOpen;

  useEffect(() => {
    function onKeyDown(e: KeyboardEvent) {
      if (e.defaultPrevented || e.isComposing) return;
      const typing = isTyping(e.target);
      for (const binding of KEYMAP) {
        const scope = binding.scope ?? "workspace";
        if (scope !== "both" && (scope === "help") !== helpRef.current) continue;
        if (typing && !binding.whileTyping) continue;
        if (!typing && binding.whileTyping) continue;
        if (!binding.match(e)) continue;
        if (binding.id === "submit" && isActivatable(e.target)) return;
        const handler = ref.current[binding.id];
        if (!handler) continue;
        if (handler(e) !== false) {
          e.preventDefault();
          return;
        }
      }
    }
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, []);
}
