/**
 * TLS for client connections, set up as the README's Security section says (openssl: a CA, a
 * server certificate for 127.0.0.1), on a real nats-server with the shipped auth: a client with
 * NATS_TLS_CA connects and works; one without it, or with another CA, is refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFromConfig, jobsStream } from '../../shared/src/index.js';
import { openTestFarm, testConfig } from '../support/farm-harness.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

describe('TLS for client connections', () => {
  let dir: string;
  let server: NatsServerHandle;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-tls-'));
    // The README's commands: a CA (and a second one the server does not use), a server key and a
    // certificate the CA signs for 127.0.0.1 / localhost.
    for (const ca of ['ca', 'other-ca']) {
      openssl(
        dir,
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=tessera ${ca}`,
        '-keyout',
        `${ca}-key.pem`,
        '-out',
        `${ca}.pem`,
      );
    }
    await writeFile(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    openssl(
      dir,
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=tessera nats',
      '-keyout',
      'server-key.pem',
      '-out',
      'server.csr',
    );
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      'server.pem',
    );
    server = await startNatsServer({
      extraConfig: `tls {\n  cert_file: "${path.join(dir, 'server.pem')}"\n  key_file: "${path.join(dir, 'server-key.pem')}"\n  timeout: 2\n}\n`,
    });
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('connects with NATS_TLS_CA and the role credential, and works', async () => {
    const config = testConfig(server, { NATS_TLS_CA: path.join(dir, 'ca.pem') }, 'admin');
    const nc = await connectFromConfig(config, 'tls-admin', { waitOnFirstConnect: false, role: 'admin' });
    expect(nc.info?.tls_required).toBe(true);
    await nc.close();
    // The whole farm over TLS: setup as admin, bind as the bot.
    const farm = await openTestFarmOverTls();
    expect((await farm.jsm.streams.info(jobsStream())).config.name).toBe(jobsStream());
    await farm.nc.close();
  });

  it('refuses a client that does not trust the server certificate', async () => {
    for (const ca of [undefined, path.join(dir, 'other-ca.pem')]) {
      const config = testConfig(server, ca ? { NATS_TLS_CA: ca } : {}, 'admin');
      await expect(
        connectFromConfig(config, 'tls-untrusting', { waitOnFirstConnect: false, role: 'admin' }),
      ).rejects.toThrow(/certificate|self.signed|tls/i);
    }
  });

  async function openTestFarmOverTls() {
    const ca = path.join(dir, 'ca.pem');
    const tlsServer = {
      url: server.url,
      env: server.env,
      connect: async (role: Parameters<NatsServerHandle['connect']>[0]) =>
        connectFromConfig(testConfig(server, { NATS_TLS_CA: ca }, role), `tls-${role}`, { role }),
    };
    return openTestFarm(tlsServer);
  }
});
