import type { Command } from 'commander';
import { MAX_INTERVAL_S, MAX_REPLICAS, seconds, wholeNumber } from './arguments.js';
import { makeContext, type GlobalOptions } from './context.js';
import { CLEANUP_TIMEOUT_MS, farmDown } from '../farm/down.js';
import { farmSlots } from '../farm/hosts.js';
import { joinSwarm, joinToken } from '../farm/join.js';
import { scaleFarm } from '../farm/scale.js';
import { farmSettings, type FarmFlags } from '../farm/settings.js';
import { farmStatus, managerHostList, type FarmStatus } from '../farm/status.js';
import { FarmStatsReader, promText, topTable } from '../farm/stats.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { farmUpSteps, rollbackUp, upResult, type UpState } from '../farm/up.js';
import { configuredImageRef } from '../image/inputs.js';
import { printResult } from '../output.js';
import { runSteps } from './progress.js';

/**
 * `farm top`: snapshots of the tasks' counters (FarmStatsReader) every `interval` seconds
 * until Ctrl-C (a normal end: exit 0), or one with `once`: a table, --json, or the
 * Prometheus text format.
 */
async function farmTop(ctx: Awaited<ReturnType<typeof makeContext>>, o: { interval: number; once: boolean; prom: boolean }): Promise<void> {
  await using reader = await FarmStatsReader.start(await ctx.engine(), ctx.config.farm);
  for (;;) {
    const stats = await reader.read();
    if (o.prom) process.stdout.write(promText(stats));
    else if (o.once) printResult(ctx.json, stats, () => topTable(stats));
    else process.stdout.write(`${process.stdout.isTTY ? '\x1b[H\x1b[2J' : ''}${topTable(stats)}\n${process.stdout.isTTY ? '' : '\n'}`);
    if (o.once) return;
    try {
      await sleep(o.interval * 1000, undefined, { signal: ctx.signal });
    } catch {
      return; // Ctrl-C ends the live view
    }
  }
}

/** `iglu farm up|down|status|scale|token|join`: thin handlers over src/farm/. */
export function registerFarm(program: Command, globals: () => GlobalOptions): void {
  const farm = program.command('farm').description('the distcc compile farm on Docker Swarm');
  registerFarmUp(farm, globals);
  registerFarmStatus(farm, globals);
  registerFarmTop(farm, globals);
  registerFarmScale(farm, globals);
  registerFarmDown(farm, globals);
  registerFarmToken(farm, globals);
  registerFarmJoin(farm, globals);
}

function registerFarmUp(farm: Command, globals: () => GlobalOptions): void {
  farm
    .command('up')
    .description(
      'initialise the swarm if needed, create the overlay network, put the image on every node, run distccd, wait until it accepts compiles; prints DISTCC_HOSTS',
    )
    .option('--replicas <n>', `number of distccd tasks (1 to ${MAX_REPLICAS})`, wholeNumber(1, MAX_REPLICAS))
    .option('--global', 'one distccd task on every node')
    .option('--image <ref>', 'farm image (default: the newest from "iglu image build")')
    .option('--network <name>', 'overlay network name')
    .option('--advertise-addr <addr>', 'address this engine advertises when iglu initialises the swarm')
    .addHelpText(
      'after',
      '\nExamples:\n  iglu farm up\n  iglu farm up --replicas 3 --advertise-addr 10.0.0.1\n  eval "export DISTCC_HOSTS=\'$(iglu farm up --json | jq -r .distccHosts)\'"\n',
    )
    .action(async (flags: FarmFlags) => {
      const ctx = await makeContext(globals());
      const settings = farmSettings(ctx.config.farm, flags);
      const engine = await ctx.engine();
      const state: UpState = {};
      try {
        await runSteps<UpState>(farmUpSteps(engine, settings, ctx.signal, configuredImageRef(ctx.config)), state);
      } catch (err) {
        await rollbackUp(engine, settings, state);
        throw err;
      }
      const result = upResult(settings, state);
      printResult(ctx.json, result, () => `DISTCC_HOSTS="${result.distccHosts}"`);
    });
}

function registerFarmStatus(farm: Command, globals: () => GlobalOptions): void {
  farm
    .command('status')
    .description('nodes, tasks and the current DISTCC_HOSTS')
    .option('--watch', 'the live view of iglu farm top')
    .option('--prom', "the tasks' counters in the Prometheus text format, once")
    .addHelpText(
      'after',
      '\nExamples:\n  iglu farm status\n  iglu farm status --json | jq -r .distccHosts\n  iglu farm status --prom > /var/lib/node-exporter/iglu.prom\n',
    )
    .action(async (flags: { watch?: boolean; prom?: boolean }) => {
      const ctx = await makeContext(globals());
      if (flags.watch || flags.prom) return farmTop(ctx, { interval: 2, once: Boolean(flags.prom), prom: Boolean(flags.prom) });
      const status = await farmStatus(await ctx.engine(), ctx.config.farm);
      printResult(ctx.json, status, () => formatStatus(status));
    });
}

function registerFarmTop(farm: Command, globals: () => GlobalOptions): void {
  farm
    .command('top')
    .description(
      "live view of the farm: per node and task, the jobs running now, done and failed, and the node's load (distccd --stats, read over the overlay)",
    )
    .option('--interval <s>', `seconds between refreshes (0.1 to ${MAX_INTERVAL_S})`, seconds(0.1, MAX_INTERVAL_S), 2)
    .option('--once', 'one snapshot, then exit')
    .option('--prom', 'the Prometheus text format (implies --once)')
    .addHelpText('after', "\nExamples:\n  iglu farm top\n  iglu farm top --once --json | jq '.tasks[] | {node, running, done}'\n  iglu farm top --prom\n")
    .action(async (flags: { interval: number; once?: boolean; prom?: boolean }) => {
      const ctx = await makeContext(globals());
      await farmTop(ctx, { interval: flags.interval, once: Boolean(flags.once || flags.prom || ctx.json), prom: Boolean(flags.prom) });
    });
}

function registerFarmScale(farm: Command, globals: () => GlobalOptions): void {
  farm
    .command('scale')
    .description('set the number of distccd tasks and wait until they accept compiles')
    .argument('<n>', `replicas, 1 to ${MAX_REPLICAS}`, wholeNumber(1, MAX_REPLICAS))
    .addHelpText('after', '\nExample:\n  iglu farm scale 4\n')
    .action(async (n: number) => {
      const ctx = await makeContext(globals());
      const settings = farmSettings(ctx.config.farm, { replicas: n });
      const engine = await ctx.engine();
      const state = await runSteps<{ hosts?: Awaited<ReturnType<typeof scaleFarm>> }>(
        [
          {
            title: `scale to ${n} tasks`,
            run: async (s) => {
              s.hosts = await scaleFarm(engine, settings, n, ctx.signal);
              return `${s.hosts.length} tasks accepting`;
            },
          },
        ],
        {},
      );
      const hosts = state.hosts!;
      const result = { farm: settings.name, replicas: n, hosts, distccHosts: await managerHostList(engine, settings, hosts), slots: farmSlots(hosts) };
      printResult(ctx.json, result, () => `DISTCC_HOSTS="${result.distccHosts}"`);
    });
}

function registerFarmDown(farm: Command, globals: () => GlobalOptions): void {
  farm
    .command('down')
    .description('remove every service, container and network of the farm')
    .option('--leave', 'also make the node engines in iglu.yaml and this engine leave the swarm')
    .option('--purge', "also remove the package store's volume (what spread builds stored)")
    .addHelpText('after', '\nExamples:\n  iglu farm down\n  iglu farm down --leave --purge\n')
    .action(async (flags: { leave?: boolean; purge?: boolean }) => {
      const ctx = await makeContext(globals());
      const result = await farmDown(await ctx.engine(), ctx.config.farm, {
        leave: Boolean(flags.leave),
        purge: Boolean(flags.purge),
        timeoutMs: Math.max(CLEANUP_TIMEOUT_MS, ctx.config.farm.readyTimeout * 1000),
      });
      printResult(
        ctx.json,
        result,
        () =>
          `removed ${result.services.length} services, ${result.containers.length} containers, ${result.networks.length} networks` +
          (result.volumes.removed.length ? `, ${result.volumes.removed.length} volumes` : '') +
          (result.left.length ? `; ${result.left.length} engines left the swarm` : '') +
          (result.volumes.kept.length ? `\nkept the package store's volume ${result.volumes.kept.join(' ')} (farm down --purge removes it)` : '') +
          (result.orphanJobs.length
            ? `\nremoved ${result.orphanJobs.length} build job containers the swarm left running after their service was gone (a killed spread build's)`
            : '') +
          (result.staleNetworks.length
            ? `\nnetwork ${result.staleNetworks.join(' ')}: the swarm had deleted it but this engine kept it (an endpoint held it); its endpoints disconnected with force, pruned`
            : ''),
      );
    });
}

function registerFarmToken(farm: Command, globals: () => GlobalOptions): void {
  farm
    .command('token')
    .description('print the command another machine runs to join the farm as a worker')
    .addHelpText('after', '\nExample (on the manager, then on the new machine):\n  iglu farm token\n  iglu farm join --token SWMTKN-1-… 10.0.0.1:2377\n')
    .action(async () => {
      const ctx = await makeContext(globals());
      const token = await joinToken(await ctx.engine());
      printResult(ctx.json, token, () => token.command);
    });
}

function registerFarmJoin(farm: Command, globals: () => GlobalOptions): void {
  farm
    .command('join')
    .description("join this machine's engine to a farm's swarm as a worker")
    .argument('<manager>', "the manager's address, HOST[:PORT]")
    .requiredOption('--token <token>', 'worker join token from "iglu farm token"')
    .option('--advertise-addr <addr>', 'address this node advertises to the swarm')
    .addHelpText('after', '\nExample:\n  iglu farm join --token SWMTKN-1-… 10.0.0.1:2377 --advertise-addr 10.0.0.2\n')
    .action(async (manager: string, flags: { token: string; advertiseAddr?: string }) => {
      const ctx = await makeContext(globals());
      const joined = await joinSwarm(await ctx.engine(), { token: flags.token, manager, advertiseAddr: flags.advertiseAddr });
      printResult(ctx.json, joined, () => `joined as node ${joined.nodeId}`);
    });
}

function formatStatus(s: FarmStatus): string {
  if (s.swarm !== 'active') return `farm ${s.farm}: no swarm (engine swarm state: ${s.swarm})`;
  const lines = [
    `farm ${s.farm}: ${s.service ? `${s.service.name}, ${s.service.mode}${s.service.replicas ? ` ×${s.service.replicas}` : ''}` : 'no distccd service'}`,
    '',
    'NODE                 ADDRESS          STATE    AVAILABILITY  ROLE     CPUS',
  ];
  for (const n of s.nodes)
    lines.push(`${n.hostname.padEnd(20)} ${n.addr.padEnd(16)} ${n.state.padEnd(8)} ${n.availability.padEnd(13)} ${n.role.padEnd(8)} ${n.cpus}`);
  lines.push('', 'TASK                        NODE                 IP               STATE');
  for (const t of s.tasks) lines.push(`${t.id.padEnd(27)} ${t.node.padEnd(20)} ${(t.ip ?? '-').padEnd(16)} ${t.state}`);
  lines.push('', `DISTCC_HOSTS="${s.distccHosts}"  (${s.slots} slots)`);
  lines.push('', `package builds (--spread): ${s.builds.length} running, ${s.buildSlots.free} of ${s.buildSlots.room} job slots free`);
  for (const b of s.builds) lines.push(`  ${b.pkg.padEnd(24)} ${(b.node || '(not placed yet)').padEnd(20)} ${b.state}`);
  for (const o of s.oversubscribed) {
    lines.push(
      `warning: node ${o.hostname} runs ${o.tasks} tasks whose daemons accept ${o.accepts} jobs on ${o.cpus} CPUs: replicas oversubscribe it (DISTCC_HOSTS gives each task ${Math.max(1, Math.floor(o.cpus / o.tasks))}; global mode, the default, runs one task per node)`,
    );
  }
  return lines.join('\n');
}
