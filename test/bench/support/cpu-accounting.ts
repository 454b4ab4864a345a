import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where the machine's CPU went during a measured window, split by process: the service (this
 * process), the PostgreSQL server (the postmaster and every backend, including backends that
 * exited in the window, whose time the postmaster has reaped), and the rest of the machine (the
 * load generator, the kernel's loopback work, anything else running). Linux /proc only; on
 * another system, or without a server pid, the affected figures are null.
 *
 * It answers the question a rate alone cannot: is the machine saturated as a whole (idle near 0),
 * and if so, which process's CPU per request is the one to cut.
 */
export interface CpuSplit {
  readonly wallMs: number;
  /** CPU-µs per request of this process (user + system). */
  readonly serviceUs: number;
  /** CPU-µs per request of the PostgreSQL server's processes; null when not measurable. */
  readonly postgresUs: number | null;
  /** CPU-µs per request of everything else that ran on the machine (load generator, kernel, ...). */
  readonly otherUs: number | null;
  /** Share of the machine's CPU time left idle (iowait counted as idle), 0..1. */
  readonly idleShare: number | null;
  /** Share stolen by the hypervisor, 0..1. */
  readonly stealShare: number | null;
}

// USER_HZ: the unit of /proc's tick counts; 100 on every Linux the project runs on (getconf CLK_TCK).
const TICK_US = 10_000;

interface MachineTicks {
  readonly busy: number;
  readonly idle: number;
  readonly steal: number;
}

function machineTicks(): MachineTicks | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, ...fields] = line.trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number) as number[];
    return { busy: user! + nice! + system! + irq! + softirq!, idle: idle! + iowait!, steal: steal ?? 0 };
  } catch {
    return null;
  }
}

/** utime, stime, and (with `withChildren`) the reaped children's cutime, cstime, in ticks; null when gone. */
function processTicks(pid: number, withChildren: boolean): { ticks: number; ppid: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const own = Number(fields[11]) + Number(fields[12]);
    return { ticks: withChildren ? own + Number(fields[13]) + Number(fields[14]) : own, ppid };
  } catch {
    return null;
  }
}

/** The server's whole tree: the postmaster with its reaped children, plus every live child. */
function serverTicks(postmasterPid: number): number | null {
  const root = processTicks(postmasterPid, true);
  if (!root) return null;
  let ticks = root.ticks;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = processTicks(Number(entry), false);
    if (child && child.ppid === postmasterPid) ticks += child.ticks;
  }
  return ticks;
}

/** The postmaster's pid, from the first line of its data directory's postmaster.pid. */
function postmasterPid(dataDir: string | null): number | null {
  if (dataDir === null) return null;
  try {
    const pid = Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n', 1)[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The data directory of the bench's PostgreSQL: its own server, or run.ts's (BENCH_POSTGRES_DATA_DIR). */
export function benchPostgresDataDir(own: { readonly dataDir: string | null } | null): string | null {
  return own?.dataDir ?? process.env.BENCH_POSTGRES_DATA_DIR ?? null;
}

/**
 * Starts a window; `stop(requests)` closes it and divides by the requests served in it.
 * `postgresDataDir`: the data directory of the server the bench started (null: not measured).
 */
export function startCpuAccounting(options: { postgresDataDir: string | null }): { stop(requests: number): CpuSplit } {
  const pid = postmasterPid(options.postgresDataDir);
  const started = performance.now();
  const service = process.cpuUsage();
  const machine = machineTicks();
  const server = pid === null ? null : serverTicks(pid);
  return {
    stop(requests: number): CpuSplit {
      const wallMs = performance.now() - started;
      const serviceDelta = process.cpuUsage(service);
      const serviceTotalUs = serviceDelta.user + serviceDelta.system;
      const machineEnd = machineTicks();
      const serverEnd = pid === null ? null : serverTicks(pid);
      const per = (us: number) => us / Math.max(1, requests);
      const postgresTotalUs = server !== null && serverEnd !== null ? (serverEnd - server) * TICK_US : null;
      if (!machine || !machineEnd) {
        return { wallMs, serviceUs: per(serviceTotalUs), postgresUs: postgresTotalUs === null ? null : per(postgresTotalUs), otherUs: null, idleShare: null, stealShare: null };
      }
      const busyUs = (machineEnd.busy - machine.busy) * TICK_US;
      const idle = machineEnd.idle - machine.idle;
      const steal = machineEnd.steal - machine.steal;
      const all = machineEnd.busy - machine.busy + idle + steal;
      return {
        wallMs,
        serviceUs: per(serviceTotalUs),
        postgresUs: postgresTotalUs === null ? null : per(postgresTotalUs),
        otherUs: per(Math.max(0, busyUs - serviceTotalUs - (postgresTotalUs ?? 0))),
        idleShare: all > 0 ? idle / all : null,
        stealShare: all > 0 ? steal / all : null,
      };
    },
  };
}

/** One table row for a bench's output. */
export function cpuSplitRow(name: string, split: CpuSplit): string {
  const us = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v).toLocaleString('en-US')} µs`);
  const share = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(0)} %`);
  return `| ${name} | ${us(split.serviceUs)} | ${us(split.postgresUs)} | ${us(split.otherUs)} | ${share(split.idleShare)} | ${share(split.stealShare)} |`;
}

export const CPU_SPLIT_HEADER = [
  '| CPU per request, by process | service | PostgreSQL | rest of the machine (load generator, kernel, other) | machine idle | stolen |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
];
