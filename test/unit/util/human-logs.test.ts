/**
 * On a terminal, logs are human lines, printed above the progress bar instead of into it (issue 21 item 7).
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { progressBar } from '../../../src/cli/commands/run.js';
import { createLogger, defaultLogFormat, formatHumanLog, setLogger } from '../../../src/util/logger.js';

/** A terminal that records what is written to it. */
function fakeTerminal(): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk: Buffer, _e, done) {
      out += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(w, { isTTY: true, columns: 120, rows: 40 });
  return { stream: w, text: () => out };
}

afterEach(() => setLogger(createLogger({ level: 'silent' })));

describe('human logs', () => {
  it('formats a pino line as time, level, sync, message and fields', () => {
    const line = JSON.stringify({
      level: 'info',
      time: '2026-12-07T00:12:03.456Z',
      pid: 1,
      sync: 'pql_users',
      runId: 'r1',
      added: 135,
      note: 'two words',
      err: { message: 'boom', stack: 'x' },
      msg: 'planned',
    });
    expect(formatHumanLog(line)).toBe(
      '00:12:03 info  pql_users: planned runId=r1 added=135 note="two words" err="boom"',
    );
    expect(formatHumanLog('not json')).toBe('not json');
  });

  it('is JSON off a terminal or with --json, human on one, and PQLSYNC_LOG_FORMAT decides when set', () => {
    const tty = process.stderr.isTTY;
    try {
      Object.assign(process.stderr, { isTTY: true });
      expect(defaultLogFormat(false, {})).toBe('human');
      expect(defaultLogFormat(true, {})).toBe('json');
      expect(defaultLogFormat(false, { PQLSYNC_LOG_FORMAT: 'json' })).toBe('json');
      Object.assign(process.stderr, { isTTY: false });
      expect(defaultLogFormat(false, {})).toBe('json');
      expect(defaultLogFormat(true, { PQLSYNC_LOG_FORMAT: 'human' })).toBe('human');
    } finally {
      Object.assign(process.stderr, { isTTY: tty });
    }
  });

  it('while a bar is drawn, a log line goes above it on a line of its own, and none is lost at the end', () => {
    const term = fakeTerminal();
    const bar = progressBar(false, term.stream)!;
    expect(bar).toBeDefined();
    const log = createLogger({ level: 'info', format: 'human' });
    bar.update('users', 100, 2000);
    log.info({ sync: 'users', batch: 1 }, 'first');
    bar.update('users', 1000, 2000);
    log.warn({ sync: 'users', batch: 2 }, 'second');
    bar.stop();
    const text = term.text();
    expect(text).not.toContain('{"level"');
    for (const msg of ['info  users: first batch=1', 'warn  users: second batch=2']) {
      const at = text.indexOf(msg);
      expect(at, msg).toBeGreaterThan(0);
      // What precedes the message on its line is only its time: no bar is drawn into it.
      const lineStart = Math.max(
        text.lastIndexOf('\n', at),
        text.lastIndexOf('\r', at),
        text.lastIndexOf('\x1b[0K', at) + 3,
        text.lastIndexOf('\x1b[2K', at) + 3,
      );
      expect(text.slice(lineStart + 1, at)).toMatch(/^\d\d:\d\d:\d\d $/);
      expect(text.slice(at + msg.length, at + msg.length + 1)).toBe('\n');
    }
    expect(text).toContain('users [');
  });
});
