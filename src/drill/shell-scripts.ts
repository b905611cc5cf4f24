/**
 * Backtick lines that run a script file rather than a command: Google's corpus runs
 * `../common/defaults.sh` (a list of `sysctl -q name=value` lines) and
 * `../common/set_sysctls.py /proc/sys/net/ipv4/name=value …` (which also writes
 * `/tmp/sysctl_restore_${PPID}.sh` to undo them). Nothing is executed: the file next to the
 * `.pkt` is read and its lines become simple commands for the sysctl mapping, the Python helper's
 * arguments become `echo value > path` commands, and the restore script undoes exactly what the
 * helper set. Shell syntax the files use is expanded first: `$((arithmetic))`, `$PPID`,
 * `# comments`, redirections and line continuations.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';

/** Evaluates `$((…))` with integers and + - * / % ( ) only; anything else is left as written. */
function arithmetic(expression: string): string | null {
  if (!/^[\d\s+\-*/%()]+$/.test(expression)) return null;
  const tokens = expression.match(/\d+|[+\-*/%()]/g) ?? [];
  let position = 0;
  const primary = (): number => {
    const token = tokens[position++];
    if (token === '(') {
      const value = sum();
      position++; // ')'
      return value;
    }
    if (token === '-') return -primary();
    return Number(token);
  };
  const product = (): number => {
    let value = primary();
    while (tokens[position] === '*' || tokens[position] === '/' || tokens[position] === '%') {
      const operator = tokens[position++];
      const right = primary();
      value = operator === '*' ? value * right : operator === '/' ? Math.trunc(value / right) : value % right;
    }
    return value;
  };
  const sum = (): number => {
    let value = product();
    while (tokens[position] === '+' || tokens[position] === '-') {
      const operator = tokens[position++];
      const right = product();
      value = operator === '+' ? value + right : value - right;
    }
    return value;
  };
  const value = sum();
  return position === tokens.length && Number.isFinite(value) ? String(value) : null;
}

/** Shell expansion the corpus needs: `$((…))`, `$PPID`/`${PPID}`, redirections dropped. */
export function expandShellWords(command: string): string {
  return command
    .replace(/\$\(\(([^()]*(?:\([^()]*\)[^()]*)*)\)\)/g, (whole, expression: string) => arithmetic(expression) ?? whole)
    .replace(/\$\{?PPID\}?/g, 'drill')
    .replace(/\s+\d?>&\d/g, '')
    .replace(/\s+\d?>\s*\/dev\/null/g, '')
    .trim();
}

/** A script's lines as simple commands: continuations joined, comments and blank lines gone. */
export function scriptLines(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#!'));
}

/** What one backtick command turned into. */
export interface ExpandedCommand {
  /** Simple commands for the sysctl mapping, in order; `fromHelper` for set_sysctls.py's (the restore script undoes those). */
  readonly commands: { readonly text: string; readonly fromHelper: boolean }[];
  /** One line per script file read (for the `applied` report). */
  readonly notes: string[];
  /** The command runs the restore script of set_sysctls.py. */
  restore: boolean;
}

/**
 * Expands a backtick command (possibly several lines) into simple commands, reading script
 * files next to the `.pkt` (`directory`) in place of running them.
 */
export function expandCommand(command: string, directory: string | undefined, depth = 0): ExpandedCommand {
  const result: ExpandedCommand = { commands: [], notes: [], restore: false };
  for (const line of scriptLines(command)) {
    for (const simple of line.split(/\s*(?:;|&&)\s*/)) {
      const text = expandShellWords(simple);
      if (text === '') continue;
      const words = text.split(/\s+/);
      const program = words[0];
      if (/^\/tmp\/sysctl_restore_/.test(program)) {
        result.notes.push(`${program} → undo what set_sysctls.py set`);
        result.restore = true;
        continue;
      }
      if (basename(program) === 'set_sysctls.py') {
        // Words as the shell splits them: a quoted value keeps its spaces (tcp_wmem="4096 50000 4194304").
        for (const assignment of (text.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? []).slice(1)) {
          const match = /^(\/proc\/sys\/\S+?)=(.*)$/.exec(assignment);
          const value = match?.[2].replace(/["']/g, '');
          result.commands.push({ text: match ? `echo "${value}" > ${match[1]}` : `set_sysctls.py ${assignment}`, fromHelper: true });
        }
        result.notes.push(`${program} → its arguments set as sysctls (and remembered for the restore script)`);
        continue;
      }
      const path = directory !== undefined && !isAbsolute(program) ? resolve(directory, program) : program;
      if (program.endsWith('.sh') && depth < 4 && existsSync(path)) {
        const inner = expandCommand(readFileSync(path, 'utf8'), directory, depth + 1);
        result.notes.push(`${program} → read, not run: ${inner.commands.length} commands`, ...inner.notes);
        result.commands.push(...inner.commands);
        result.restore ||= inner.restore;
        continue;
      }
      result.commands.push({ text, fromHelper: false });
    }
  }
  return result;
}
