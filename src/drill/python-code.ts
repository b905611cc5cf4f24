/**
 * `%{ … }%` blocks: Python code over the socket under test's TCP_INFO, as packetdrill runs it.
 * packetdrill reads `getsockopt(TCP_INFO)` when the block's time comes, defines every field as a
 * `tcpi_*` variable beside the symbolic names (TCP_ESTABLISHED…, TCP_CA_Open…, TCPI_OPT_*), and
 * runs all blocks with `python3` once the script is over, as one program: a name one block
 * defines is there for the next (Google's scripts define TCP_INFINITE_SSTHRESH that way). So
 * does this module: one python3 process per script, the first exception reported with the
 * block's line.
 */
import { spawnSync } from 'node:child_process';

/** One block, with the values it sees. */
export interface CodeSnippet {
  readonly line: number;
  readonly code: string;
  /** `tcpi_*` variables (and any other name → number the runner defines). */
  readonly variables: Readonly<Record<string, number>>;
}

/** The names packetdrill defines for every block (Linux's values). */
export const PYTHON_SYMBOLS: Readonly<Record<string, number>> = {
  TCP_ESTABLISHED: 1,
  TCP_SYN_SENT: 2,
  TCP_SYN_RECV: 3,
  TCP_FIN_WAIT1: 4,
  TCP_FIN_WAIT2: 5,
  TCP_TIME_WAIT: 6,
  TCP_CLOSE: 7,
  TCP_CLOSE_WAIT: 8,
  TCP_LAST_ACK: 9,
  TCP_LISTEN: 10,
  TCP_CLOSING: 11,
  // nplab's packetdrill on FreeBSD names the states TCPI_*; here they mean the same states
  // in the one (Linux) numbering ustack's tcpi_state uses.
  TCPI_ESTABLISHED: 1,
  TCPI_SYN_SENT: 2,
  TCPI_SYN_RECEIVED: 3,
  TCPI_FIN_WAIT_1: 4,
  TCPI_FIN_WAIT_2: 5,
  TCPI_TIME_WAIT: 6,
  TCPI_CLOSED: 7,
  TCPI_CLOSE_WAIT: 8,
  TCPI_LAST_ACK: 9,
  TCPI_LISTEN: 10,
  TCPI_CLOSING: 11,
  TCP_CA_Open: 0,
  TCP_CA_Disorder: 1,
  TCP_CA_CWR: 2,
  TCP_CA_Recovery: 3,
  TCP_CA_Loss: 4,
  TCPI_OPT_TIMESTAMPS: 1,
  TCPI_OPT_SACK: 2,
  TCPI_OPT_WSCALE: 4,
  TCPI_OPT_ECN: 8,
  TCPI_OPT_ECN_SEEN: 16,
  TCPI_OPT_SYN_DATA: 32,
  TCPI_OPT_USEC_TS: 64,
  TCPI_OPT_TFO_CHILD: 128,
};

/** The Python side: reads the blocks as JSON on stdin, runs each, reports the first failure. */
const DRIVER = String.raw`
import json, sys, traceback
blocks = json.load(sys.stdin)
namespace = {}
for block in blocks:
    namespace.update(block["variables"])
    try:
        exec(compile(block["code"], "line %d" % block["line"], "exec"), namespace)
    except BaseException as error:
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        if isinstance(error, AssertionError):
            detail = "assertion failed" + (": " + str(error) if str(error) else "")
        print(json.dumps({"line": block["line"], "message": detail}))
        sys.exit(1)
print(json.dumps({"line": 0, "message": "ok"}))
`;

/** The outcome of running a script's blocks. */
export type CodeOutcome = { readonly ok: true } | { readonly ok: false; readonly line: number; readonly message: string };

/** Runs the blocks in order with python3 (`command` to use another interpreter). */
export function runPythonSnippets(snippets: readonly CodeSnippet[], command = 'python3'): CodeOutcome {
  if (snippets.length === 0) return { ok: true };
  const input = JSON.stringify(snippets.map((s) => ({ line: s.line, code: s.code, variables: { ...PYTHON_SYMBOLS, ...s.variables } })));
  const run = spawnSync(command, ['-c', DRIVER], { input, encoding: 'utf8', timeout: 30_000 });
  if (run.error) return { ok: false, line: snippets[0].line, message: `cannot run ${command} for %{ }% blocks: ${run.error.message}` };
  const last = run.stdout.trim().split('\n').pop() ?? '';
  try {
    const result = JSON.parse(last) as { line: number; message: string };
    if (run.status === 0 && result.line === 0) return { ok: true };
    return { ok: false, line: result.line, message: result.message };
  } catch {
    return { ok: false, line: snippets[0].line, message: `${command} failed: ${(run.stderr || run.stdout).trim().slice(0, 500)}` };
  }
}
