import React from 'react';

/**
 * Properties of {@link DocText}.
 */
export interface IDocTextProps {
  /** A docstring (numpy/Google/reST style plain text). */
  text: string;
  className?: string;
}

/**
 * A docstring as paragraphs: lines wrapped by the author are joined, blank
 * lines separate paragraphs, indented and list lines stay on their own, and
 * ``literals`` (or `literals`) show as code. Plain text only, never HTML.
 */
export function DocText(props: IDocTextProps): JSX.Element {
  const paragraphs = reflow(props.text);
  return (
    <div className={props.className}>
      {paragraphs.map((p, i) => (
        <p key={i}>{inlineCode(p)}</p>
      ))}
    </div>
  );
}

/**
 * Split a docstring into paragraphs and join the lines inside each.
 */
export function reflow(text: string): string[] {
  return text
    .trim()
    .split(/\n\s*\n/)
    .map(block => {
      const lines = block.split('\n');
      let out = lines[0].trim();
      for (const line of lines.slice(1)) {
        const keep = /^\s+\S|^\s*([-*•]|\d+[.)])\s/.test(line);
        out += keep ? `\n${line.trim()}` : ` ${line.trim()}`;
      }
      return out;
    })
    .filter(Boolean);
}

/**
 * Render ``x`` and `x` as `<code>`.
 */
function inlineCode(text: string): React.ReactNode[] {
  const parts = text.split(/(``[^`]+``|`[^`]+`)/);
  return parts.map((part, i) => {
    const match = /^``([^`]+)``$|^`([^`]+)`$/.exec(part);
    return match ? <code key={i}>{match[1] ?? match[2]}</code> : part;
  });
}

/**
 * A one-line summary without reST markup (``a`` → a).
 */
export function plainSummary(text: string): string {
  return text.replace(/``([^`]+)``/g, '$1');
}
