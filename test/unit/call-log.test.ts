import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { logCall, type CallRecord } from '../../src/sessions/call-runner.js';
import { CALL_OUTCOMES } from '../../src/store/activity-log.js';

const README = readFileSync(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

describe('the per-call log line', () => {
  it('names a failed call protocol_error, and the README lists exactly the outcomes logged', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      }
    });
    const record: CallRecord = {
      sessionId: undefined,
      clientKey: undefined,
      tool: 'fixture__crash',
      serverId: 'fixture',
      startedAt: Date.now(),
      durationMs: 12,
      outcome: 'protocol_error',
      error: 'server fixture exited during the call',
      bytesIn: 2,
      bytesOut: 0,
      cold: false,
      startMs: 0,
      code: -32603,
      listed: true
    };
    logCall(pino(sink))(record);
    expect(lines[0]).toMatchObject({ msg: 'tools/call', outcome: 'protocol_error', code: -32603 });

    const paragraph = /one line per `tools\/call`[^]*?outcome \(([^)]*)\)/.exec(README)?.[1];
    expect(paragraph).toBeDefined();
    const listed = [...paragraph!.matchAll(/`([a-z_]+)`/g)].map(match => match[1]);
    expect(listed).toEqual([...CALL_OUTCOMES]);
  });
});
