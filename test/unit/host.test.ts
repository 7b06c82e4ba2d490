import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultRouteInterface } from '../../src/host/address.js';
import { hasFeature, parseKernelConfig } from '../../src/host/kernel.js';
import { kernelChecks, healthy } from '../../src/doctor/checks.js';
import { debootstrapHash, mirrorFromAptSources } from '../../src/image/inputs.js';
import { dockerOptions, resolveEndpoint } from '../../src/docker/index.js';
import { mask } from '../../src/log.js';

test('kernel config: y and m count, "is not set" does not', () => {
  const c = parseKernelConfig('CONFIG_VXLAN=y\nCONFIG_BRIDGE=m\n# CONFIG_IP_VS is not set\nCONFIG_CMDLINE="x"\n');
  assert.equal(hasFeature(c, 'VXLAN'), true);
  assert.equal(hasFeature(c, 'BRIDGE'), true);
  assert.equal(hasFeature(c, 'IP_VS'), false);
  assert.equal(hasFeature(undefined, 'IP_VS'), undefined);
});

test('doctor: a missing VXLAN fails, a missing IP_VS is advice', () => {
  const checks = kernelChecks(parseKernelConfig('CONFIG_OVERLAY_FS=y\nCONFIG_BRIDGE=y\nCONFIG_VETH=y\n'));
  assert.equal(healthy(checks), false);
  assert.equal(checks.find((c) => c.name === 'kernel CONFIG_VXLAN')?.required, true);
  assert.equal(healthy(kernelChecks(parseKernelConfig('CONFIG_VXLAN=y\nCONFIG_OVERLAY_FS=y\nCONFIG_BRIDGE=y\nCONFIG_VETH=y\n'))), true);
});

test('default route interface from /proc/net/route', () => {
  const table =
    'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n' +
    'br0\t0000D50A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n' +
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n';
  assert.equal(defaultRouteInterface(table), 'eth0');
  assert.equal(defaultRouteInterface('Iface\tDestination\n'), undefined);
});

test('mirror from deb822 and one-line apt sources, skipping deb-src and security', () => {
  const deb822 =
    'Types: deb-src\nURIs: http://src.invalid/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm\n';
  assert.equal(mirrorFromAptSources([deb822]), 'http://mirror.invalid/debian');
  assert.equal(mirrorFromAptSources(['deb [arch=amd64] http://one.invalid/debian bookworm main\n']), 'http://one.invalid/debian');
  assert.equal(mirrorFromAptSources(['# nothing\n']), undefined);
});

test('image content hash: stable, order-insensitive over packages, sensitive to suite', () => {
  const a = debootstrapHash({ suite: 'bookworm', packages: ['clang', 'distcc'] });
  assert.equal(a, debootstrapHash({ suite: 'bookworm', packages: ['distcc', 'clang'] }));
  assert.notEqual(a, debootstrapHash({ suite: 'trixie', packages: ['clang', 'distcc'] }));
  assert.match(a, /^[0-9a-f]{12}$/);
});

test('Docker endpoints: unix, tcp, ssh; DOCKER_HOST honoured; others rejected', () => {
  assert.deepEqual(dockerOptions('unix:///run/d.sock'), { socketPath: '/run/d.sock' });
  assert.deepEqual(dockerOptions('tcp://10.0.0.2:2376'), { protocol: 'http', host: '10.0.0.2', port: 2376 });
  assert.equal((dockerOptions('ssh://me@box') as { protocol: string }).protocol, 'ssh');
  assert.throws(() => dockerOptions('http://x'), /unknown Docker endpoint "http:\/\/x"/);
  assert.equal(resolveEndpoint(undefined, { DOCKER_HOST: 'tcp://a:1' }), 'tcp://a:1');
  assert.equal(resolveEndpoint('unix:///x', { DOCKER_HOST: 'tcp://a:1' }), 'unix:///x');
  assert.equal(resolveEndpoint(undefined, {}), 'unix:///var/run/docker.sock');
});

test('join tokens are masked in logs', () => {
  assert.equal(mask('join --token SWMTKN-1-abc-def 1.2.3.4'), 'join --token SWMTKN-1-**** 1.2.3.4');
});
