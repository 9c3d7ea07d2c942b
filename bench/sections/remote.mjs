// 7. A remote server: sequential tools/call of `echo` on a loopback Streamable HTTP server
//    (servers/remote-echo.mjs), straight to it and through the gateway with it as a url: server,
//    in both client eras, with the SDK's client and the minimal one, in interleaved rounds.
import { startFloor } from '../lib/floor.mjs';
import { GatewayChild } from '../lib/gateway.mjs';
import { interleaved } from '../lib/load.mjs';
import { callEcho, keepAliveAgent, ModernClient } from '../lib/raw-client.mjs';
import { connectSdk, sdkEcho } from '../lib/sdk-client.mjs';

export async function remoteCalls({ dir, counts, log }) {
  const closers = [];
  try {
    const server = await startFloor([], 'remote-echo.mjs');
    closers.push(() => server.stop());
    const gateway = await GatewayChild.start({
      dir,
      config: `defaults:\n  idleTimeout: 0\nservers:\n  remote:\n    url: ${server.url.href}\n`
    });
    closers.push(() => gateway.stop());
    await gateway.discovered();

    const agent = keepAliveAgent(2);
    closers.push(() => agent.destroy());
    const sdk = async (url, era) => {
      const client = await connectSdk(url, era);
      closers.push(() => client.close());
      return client;
    };
    const bySdk = (client, tool) => i => sdkEcho(client, tool, `call ${i}`);
    const byRaw = (client, tool) => i => callEcho(client, tool, `call ${i}`);
    const paths = {
      directSdk_legacy: { call: bySdk(await sdk(server.url, 'legacy'), 'echo') },
      gatewaySdk_legacy: { call: bySdk(await sdk(gateway.url, 'legacy'), 'remote__echo') },
      directSdk_modern: { call: bySdk(await sdk(server.url, 'modern'), 'echo') },
      gatewaySdk_modern: { call: bySdk(await sdk(gateway.url, 'modern'), 'remote__echo') },
      directRaw_modern: { call: byRaw(new ModernClient(server.url, agent), 'echo') },
      gatewayRaw_modern: { call: byRaw(new ModernClient(gateway.url, agent), 'remote__echo') }
    };
    const runs = await interleaved(paths, { warmup: counts.warmup, count: counts.calls, log });
    // What the gateway adds: its p50 minus the p50 of the same client talking to the server.
    const addedP50Ms = Object.fromEntries(
      Object.keys(paths)
        .filter(key => key.startsWith('gateway'))
        .map(key => [key, runs[key].p50 - runs[key.replace('gateway', 'direct')].p50])
    );
    return { runs, addedP50Ms };
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        // already closed, or gone with its process
      }
    }
  }
}
