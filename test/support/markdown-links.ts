/**
 * Checks the relative links of Markdown files: every `[text](path#anchor)` and `![alt](path)` outside
 * code must name a file or folder that exists, inside the repository, and an anchor must be a heading of
 * the target file, spelled as GitHub spells heading anchors. Used by test/unit/docs-links.test.ts.
 *
 * Hand-written rather than a Markdown parser: the docs use inline links only, and GitHub's anchor rule is
 * a few lines (github-slugger: lower case, drop punctuation and symbols, spaces to hyphens, `-1`, `-2`
 * for repeats), so a dependency would add more than it saves.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface BrokenLink {
  readonly file: string;
  readonly line: number;
  readonly target: string;
  readonly reason: string;
}

const FENCE = /^\s*(```|~~~)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const LINK = /!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** The lines of a Markdown text with fenced code blanked out and inline code spans removed. */
function proseLines(text: string): string[] {
  let inFence = false;
  return text.split('\n').map((line) => {
    if (FENCE.test(line)) {
      inFence = !inFence;
      return '';
    }
    return inFence ? '' : line.replace(/(`+)[^`]*?\1/g, '');
  });
}

/** GitHub's anchor for a heading's text (github-slugger's rule). */
export function headingSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading keeps only its text
    .replace(/<[^>]+>/g, '');
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a Markdown text's headings define, repeats numbered as GitHub numbers them. */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (FENCE.test(line)) inFence = !inFence;
    const match = inFence ? null : HEADING.exec(line);
    if (match === null) continue;
    const slug = headingSlug(match[2]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The broken relative links of `files` (paths relative to `root`). */
export function brokenLinks(root: string, files: readonly string[]): BrokenLink[] {
  const broken: BrokenLink[] = [];
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (file: string): Set<string> => {
    let set = anchorsOf.get(file);
    if (set === undefined) {
      set = headingAnchors(readFileSync(file, 'utf8'));
      anchorsOf.set(file, set);
    }
    return set;
  };
  for (const file of files) {
    const absolute = path.resolve(root, file);
    proseLines(readFileSync(absolute, 'utf8')).forEach((line, index) => {
      for (const match of line.matchAll(LINK)) {
        const target = match[1]!;
        if (target === '' || SCHEME.test(target)) continue;
        const report = (reason: string): void => {
          broken.push({ file, line: index + 1, target, reason });
        };
        const hash = target.indexOf('#');
        const linkPath = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
        const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
        const resolved = linkPath === '' ? absolute : path.resolve(path.dirname(absolute), linkPath);
        if (path.relative(root, resolved).startsWith('..')) {
          report('points outside the repository');
          continue;
        }
        if (!existsSync(resolved)) {
          report('no such file');
          continue;
        }
        if (anchor === null) continue;
        if (!statSync(resolved).isFile() || !resolved.endsWith('.md')) {
          report('an anchor into something that is not a Markdown file');
        } else if (!anchors(resolved).has(anchor)) {
          report(`no heading with anchor #${anchor} in ${path.relative(root, resolved)}`);
        }
      }
    });
  }
  return broken;
}
