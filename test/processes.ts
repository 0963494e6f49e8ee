/**
 * The one way tests and benchmarks start a process: the service, a command, or another program.
 * Hermetic: the child's environment is built from nothing but what the caller sets (an operator's
 * GUPY_API_TOKEN, PUBLIC_URL, DATABASE_PATH… in the developer's shell never reach it), and it runs
 * in a fresh temporary folder unless told otherwise (so no `.env` of the repository is read).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'

const SERVER = fileURLToPath(new URL('../src/server.ts', import.meta.url))
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
/** tsx's loader as an absolute URL: it resolves from any working folder. */
const TSX = import.meta.resolve('tsx')

/** What a test may register clean-ups with (node:test's TestContext has it). */
export interface Cleanup { after: (fn: () => unknown) => void }

/**
 * The child's whole environment: the given variables over a minimal base. Only what a program needs
 * to run is kept from the parent (where to find programs, the temporary folder); nothing else.
 */
export function hermeticEnv (env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { LANG: 'C.UTF-8' }
  for (const key of ['PATH', 'TMPDIR', 'SYSTEMROOT']) if (process.env[key] !== undefined) base[key] = process.env[key]
  return { ...base, ...env }
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface Child {
  child: ChildProcess
  /** The working folder it runs in. */
  cwd: string
  /** Resolves once the process has ended and its output has been read to the end. */
  exited: Promise<Exit>
  stdout: () => string
  stderr: () => string
  /** Sends the signal and waits for the exit (at most `ms`). */
  stop: (signal?: NodeJS.Signals, ms?: number) => Promise<Exit>
}

export interface SpawnOptions {
  env?: Record<string, string>
  /** The working folder; a fresh temporary one (removed afterwards) by default. */
  cwd?: string
  /** `pipe`: stdout and stderr collected (the default); `ignore`; `stderr`: stdout collected, stderr shown (benchmarks). */
  output?: 'pipe' | 'ignore' | 'stderr'
  /** Sent to the child's stdin, then closed. */
  input?: string
}

/** Runs a program hermetically. With `t`, the process is killed and its folder removed after the test. */
export function spawnHermetic (t: Cleanup | undefined, program: string, args: string[], opts: SpawnOptions = {}): Child {
  const ownDir = opts.cwd === undefined ? mkdtempSync(join(tmpdir(), 'bridge-run-')) : undefined
  const cwd = opts.cwd ?? ownDir as string
  const stdio: StdioOptions = opts.output === 'ignore'
    ? ['ignore', 'ignore', 'ignore']
    : opts.output === 'stderr' ? ['ignore', 'pipe', 'inherit'] : [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']
  const child = spawn(program, args, { cwd, env: hermeticEnv(opts.env), stdio })
  if (opts.input !== undefined) child.stdin?.end(opts.input)
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  // 'close', not 'exit': by then both pipes have been read to the end.
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => {
    if (ownDir !== undefined) rmSync(ownDir, { recursive: true, force: true })
    resolve({ code, signal })
  }))
  const running = () => child.exitCode === null && child.signalCode === null
  t?.after(async () => {
    if (running()) child.kill('SIGKILL')
    await exited
  })
  async function stop (signal: NodeJS.Signals = 'SIGTERM', ms = 15_000): Promise<Exit> {
    if (running()) child.kill(signal)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the process did not exit within ${ms / 1000} s of ${signal}`)), ms)
    })
    try {
      return await Promise.race([exited, late])
    } finally {
      clearTimeout(timer)
    }
  }
  return { child, cwd, exited, stdout: () => stdout, stderr: () => stderr, stop }
}

/** A TypeScript file of the repository run under tsx, hermetically (stand-ins, benchmark targets). */
export function spawnScript (t: Cleanup | undefined, file: URL | string, args: string[] = [], opts: SpawnOptions = {}): Child {
  return spawnHermetic(t, process.execPath, ['--import', TSX, file instanceof URL ? fileURLToPath(file) : file, ...args], opts)
}

/** `src/server.ts` or `src/cli.ts <args>` under tsx, hermetically. */
export function spawnBridge (t: Cleanup | undefined, what: 'server' | 'cli', args: string[] = [], opts: SpawnOptions = {}): Child {
  return spawnScript(t, what === 'server' ? SERVER : CLI, args, opts)
}

/** The port a child announces on stdout as `listening <port>` (the benchmarks' targets and stand-ins). */
export async function announcedPort (run: Child): Promise<number> {
  for await (const line of createInterface({ input: run.child.stdout! })) {
    const m = /^listening (\d+)$/.exec(line)
    if (m !== null) return Number(m[1])
  }
  throw new Error(`the process ended without announcing its port:\n${run.stderr()}`)
}

/** Runs `gupy-rubeus-bridge <args>` as a real, hermetic process; never throws on a non-zero exit. */
export async function cli (args: string[], env: Record<string, string>, opts: Omit<SpawnOptions, 'env' | 'output'> = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  const run = spawnBridge(undefined, 'cli', args, { ...opts, env })
  const { code, signal } = await run.exited
  return { code: code ?? (signal === null ? 1 : 128), stdout: run.stdout(), stderr: run.stderr() }
}

/** A loopback port nobody listens on right now, for a child-process service. */
export async function freePort (): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

export interface Service extends Child {
  port: number
  /** `http://127.0.0.1:<port>` */
  url: string
}

/**
 * Starts the service on a free loopback port and waits until `/healthz` answers 200 (at most
 * `readyWithinMs`). Fails with the service's output if it exits first.
 */
export async function startService (t: Cleanup | undefined, env: Record<string, string>, opts: Omit<SpawnOptions, 'env'> & { readyWithinMs?: number } = {}): Promise<Service> {
  const port = await freePort()
  const child = spawnBridge(t, 'server', [], { ...opts, env: { HOST: '127.0.0.1', ...env, PORT: String(port) } })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + (opts.readyWithinMs ?? 30_000)
  for (;;) {
    if (child.child.exitCode !== null || child.child.signalCode !== null) {
      await child.exited
      throw new Error(`the service exited while starting:\n${child.stderr()}${child.stdout()}`)
    }
    if (Date.now() > deadline) {
      child.child.kill('SIGKILL')
      throw new Error(`the service did not answer /healthz within ${(opts.readyWithinMs ?? 30_000) / 1000} s:\n${child.stderr()}`)
    }
    try {
      const res = await request(`${url}/healthz`, { headersTimeout: 2000, bodyTimeout: 2000 })
      await res.body.dump()
      if (res.statusCode === 200) return { ...child, port, url }
    } catch {} // not listening yet
    await sleep(50)
  }
}
