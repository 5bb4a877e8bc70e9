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

/**
 * numpy-style sections whose entries are `name : type` lines, each followed
 * by its indented description.
 */
const ENTRY_SECTIONS = new Set([
  'parameters',
  'other parameters',
  'returns',
  'yields',
  'receives',
  'raises',
  'warns',
  'attributes'
]);

/**
 * A docstring (numpy/reST style) as Markdown, as a notebook would show it:
 * section titles underlined with dashes become bold lines, the entries of
 * Parameters/Returns/Raises a list (`name` (*type*): description), reST
 * literals (``x``) and roles (:func:`x`) code, `>>>` examples a code block.
 */
export function docToMarkdown(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').trim().split('\n');
  const out: string[] = [];
  let section = '';
  let entry: string | null = null;
  let description: string[] = [];
  let inExample = false;
  const flush = (): void => {
    if (entry !== null) {
      const body = inlineMarkdown(description.join(' ').trim());
      out.push(body ? `- ${entry}: ${body}` : `- ${entry}`);
    }
    entry = null;
    description = [];
  };
  const closeExample = (): void => {
    if (inExample) {
      out.push('```');
      inExample = false;
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const next = lines[i + 1] ?? '';
    if (line.trim() && /^\s*-{3,}\s*$/.test(next)) {
      flush();
      closeExample();
      section = line.trim().toLowerCase();
      out.push('', `**${line.trim()}**`, '');
      i += 1;
      continue;
    }
    if (/^\s*>>>/.test(line) || (inExample && /^\s*\.\.\.( |$)/.test(line))) {
      flush();
      if (!inExample) {
        out.push('', '```python');
        inExample = true;
      }
      out.push(line.trim());
      continue;
    }
    if (inExample && line.trim()) {
      out.push(line.trim()); // the example's output
      continue;
    }
    closeExample();
    if (ENTRY_SECTIONS.has(section)) {
      if (!line.trim()) {
        continue;
      }
      if (!/^\s/.test(line)) {
        flush();
        const match = /^(\*{0,2}[\w.,* ]+?)\s*:\s*(.*)$/.exec(line.trim());
        if (match && section !== 'returns' && section !== 'yields') {
          entry = `\`${match[1]}\`${match[2] ? ` (*${match[2]}*)` : ''}`;
        } else if (section === 'raises' || section === 'warns') {
          entry = `\`${line.trim()}\``;
        } else if (match) {
          entry = `\`${match[1]}\` (*${match[2]}*)`;
        } else {
          entry = `*${line.trim()}*`;
        }
        continue;
      }
      description.push(line.trim());
      continue;
    }
    // Indented prose (a docstring's own indentation) is text, not a code block.
    out.push(inlineMarkdown(line.trimStart()));
  }
  flush();
  closeExample();
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * reST literals (``x``) and roles (:func:`x`) as Markdown code.
 */
function inlineMarkdown(text: string): string {
  return text
    .replace(/``([^`]+)``/g, '`$1`')
    .replace(/:[\w:]+:`~?([^`]+)`/g, '`$1`');
}
