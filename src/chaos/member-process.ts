/**
 * One member's process: started in its own process group (so a kill reaches everything it
 * spawned), optionally inside a network namespace, with its output appended to a log file; killed
 * with SIGKILL, stopped with SIGTERM, paused with SIGSTOP and resumed with SIGCONT. Every live
 * member is also registered for an emergency kill when the tool itself exits, so no run leaves a
 * cluster behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Run inside this network namespace (`ip netns exec`, which execs: the pid is the member's). */
  readonly netns: string | null;
  readonly logFile: string;
}

export type ProcessState = 'stopped' | 'running' | 'paused';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) signalGroup(p, 'SIGKILL');
  });
}

function signalGroup(p: ChildProcess, signal: NodeJS.Signals): void {
  if (p.pid === undefined) return;
  try {
    process.kill(-p.pid, signal);
  } catch {
    try {
      p.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

export class MemberProcess {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private expectingExit = false;
  state: ProcessState = 'stopped';
  /** How the last run ended (for the report when a member dies on its own). */
  lastExit: { readonly code: number | null; readonly signal: string | null } | null = null;

  constructor(
    readonly name: string,
    private readonly onUnexpectedExit: (name: string, code: number | null, signal: string | null) => void = () => {},
  ) {}

  get pid(): number | null {
    return this.proc?.pid ?? null;
  }

  start(spec: SpawnSpec): void {
    if (this.proc !== null) throw new Error(`member ${this.name} is already running`);
    installExitHook();
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const fd = openSync(spec.logFile, 'a');
    const [cmd, args] = spec.netns === null ? [spec.command, spec.args] : ['ip', ['netns', 'exec', spec.netns, spec.command, ...spec.args]];
    let proc: ChildProcess;
    try {
      proc = spawn(cmd, [...args], { stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, ...spec.env } });
    } finally {
      closeSync(fd);
    }
    this.proc = proc;
    live.add(proc);
    this.state = 'running';
    this.expectingExit = false;
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: string | null): void => {
        if (this.proc !== proc) return resolve();
        live.delete(proc);
        this.proc = null;
        this.state = 'stopped';
        this.lastExit = { code, signal };
        resolve();
        if (!this.expectingExit) this.onUnexpectedExit(this.name, code, signal);
      };
      proc.once('exit', done);
      proc.once('error', () => done(null, null));
    });
  }

  /** kill -9 of the whole process group: nothing gets flushed. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p === null) return;
    this.expectingExit = true;
    signalGroup(p, 'SIGCONT');
    signalGroup(p, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    const p = this.proc;
    if (p === null) return;
    this.expectingExit = true;
    signalGroup(p, 'SIGCONT');
    signalGroup(p, 'SIGTERM');
    const t = setTimeout(() => signalGroup(p, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  pause(): void {
    if (this.proc === null || this.state !== 'running') return;
    signalGroup(this.proc, 'SIGSTOP');
    this.state = 'paused';
  }

  resume(): void {
    if (this.proc === null || this.state !== 'paused') return;
    signalGroup(this.proc, 'SIGCONT');
    this.state = 'running';
  }

  /** The process is going away on its own (e.g. removed from the cluster): do not report it. */
  expectExit(): void {
    this.expectingExit = true;
  }

  /** Resident memory in bytes (Linux), or null. */
  async rssBytes(): Promise<number | null> {
    const pid = this.pid;
    if (pid === null) return null;
    try {
      const { readFile } = await import('node:fs/promises');
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      return m === null ? null : Number(m[1]) * 1024;
    } catch {
      return null;
    }
  }
}
