import { useMemo } from "react";
import DOMPurify from "dompurify";
import { marked } from "marked";

/**
 * Campaign instructions: Markdown written by campaign admins, sanitized before it reaches the
 * DOM. Never used for model outputs or prompts, which are rendered as text nodes.
 */
export function Markdown({ source, className }: { source: string; className?: string }) {
  const html = useMemo(() => {
    const raw = marked.parse(source, { async: false, gfm: true, breaks: false });
    return DOMPurify.sanitize(raw, { USE_PROFILES: { html: true } });
  }, [source]);
  return <div className={className} dangerouslySetInnerHTML={{ __html: html }} />;
}
