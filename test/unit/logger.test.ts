import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundedFields, formatLogLine, MAX_LOGGED_VALUE } from '../../src/core/logger';

const LOGGER = join(__dirname, '..', '..', 'dist', 'src', 'core', 'logger.js');

/** Runs `script` in a fresh Node process with the built logger as `logger`; returns what it wrote to stdout. */
function stdoutOf(script: string): string {
  if (!existsSync(LOGGER)) throw new Error(`${LOGGER} is missing: run "npm run build" first (npm test does)`);
  return execFileSync(process.execPath, ['-e', `const { consoleLogger: logger } = require(${JSON.stringify(LOGGER)});\n${script}`], { encoding: 'utf8' });
}

describe('formatLogLine', () => {
  it('writes key=value pairs, quoting values with blanks and leaving out undefined ones', () => {
    expect(formatLogLine('request', { status: 200, client: 'team a', model: 'gpt-4o', gone: undefined })).toBe('request status=200 client="team a" model=gpt-4o');
    expect(formatLogLine('start', { ms: 12.5, ready: true, reason: null, empty: '' })).toBe('start ms=12.5 ready=true reason=null empty=');
  });

  it('escapes control characters, so a value cannot write terminal codes or a second line into the log', () => {
    const line = formatLogLine('request', { model: 'x\u001b[31mred\nrequest status=200' });
    expect(line).toBe('request model="x\\u001b[31mred\\nrequest status=200"');
    expect([...line].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
    expect(formatLogLine('request', { model: 'x\u001b[31mred' })).toBe('request model="x\\u001b[31mred"');
  });

  it('quotes a value with any blank, Unicode ones and DEL included, and leaves other non-ASCII values plain', () => {
    expect(formatLogLine('request', { model: 'a\u00a0b' })).toBe('request model="a\u00a0b"');
    expect(formatLogLine('request', { model: 'a\u3000b' })).toBe('request model="a\u3000b"');
    // Quoted; JSON leaves DEL as it is (it moves no cursor and starts no sequence).
    expect(formatLogLine('request', { model: 'a\u007fb' })).toBe('request model="a\u007fb"');
    expect(formatLogLine('request', { model: 'a\tb' })).toBe('request model="a\\tb"');
    expect(formatLogLine('request', { model: 'modèle-é' })).toBe('request model=modèle-é');
  });

  it('writes numbers as String does, times in tenths of a millisecond included', () => {
    const numbers = [0, -0, 7, -7, 200, 12.5, 0.1, -0.1, -0.05, 0.30000000000000004, 1 / 3, 1e-7, 1e21, 123456789.5, 9999999999999.9, 99999999999999.9, Number.NaN, Infinity, -Infinity];
    for (let tenths = -20_000; tenths <= 20_000; tenths += 7) numbers.push(tenths / 10, Math.round((tenths * 1.37) * 10) / 10);
    for (const n of numbers) expect(formatLogLine('request', { ms: n })).toBe(`request ms=${String(n)}`);
  });

  it('cuts a long value, saying how long it was', () => {
    const line = formatLogLine('request', { model: 'm'.repeat(3_000_000) });
    expect(line.length).toBeLessThan(MAX_LOGGED_VALUE + 100);
    expect(line).toContain('…(3000000 chars)');
    expect(boundedFields({ model: 'm'.repeat(5000), status: 200 })).toEqual({ model: `${'m'.repeat(MAX_LOGGED_VALUE)}…(5000 chars)`, status: 200 });
  });
});

/**
 * Runs `script` as stdoutOf does, its output going into a pipe that nothing reads for half a second (a slow
 * reader): a real pipe, through the shell, whose 64 KiB fill up (Node gives a child a socket pair, which holds more).
 */
function slowlyReadStdoutOf(script: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'logger-')), 'script.js');
  writeFileSync(file, `const { consoleLogger: logger } = require(${JSON.stringify(LOGGER)});\n${script}`);
  return execFileSync('sh', ['-c', '"$NODE" "$SCRIPT" | (sleep 0.5; cat)'], { encoding: 'utf8', env: { ...process.env, NODE: process.execPath, SCRIPT: file } });
}

describe('consoleLogger', () => {
  it('writes its last lines when the process exits with the pipe full (a slow reader), waiting for room', () => {
    // About 64 KB goes out in the first batch and fills the pipe; the rest is pending at exit, when a stream write
    // that cannot be done at once is dropped.
    const out = slowlyReadStdoutOf("for (let n = 0; n < 1100; n++) logger.info('request', { n, model: 'x'.repeat(50) });");
    const lines = out.split('\n').slice(0, -1);
    expect(lines).toHaveLength(1100);
    expect(lines.at(-1)).toBe(`request n=1099 model=${'x'.repeat(50)}`);
  });

  it('writes lines still waiting for their batch when the process exits at once', () => {
    const out = stdoutOf("logger.info('request', { n: 1 }); logger.info('request', { n: 2 }); process.exit(0);");
    expect(out).toBe('request n=1\nrequest n=2\n');
  });

  it('writes every line, whole and in order, over several batches: multi-byte characters, and a line larger than a batch', () => {
    // 5,000 lines of about 60 bytes fill several 64 KiB batches; the 40 fields of 1,000 characters make one line of
    // 40 KB, whose encoding might not fit a batch, so it goes out alone between them.
    const script = `
      const wide = {}; for (let f = 0; f < 40; f++) wide['f' + f] = 'é'.repeat(1000);
      for (let n = 0; n < 5000; n++) { logger.info('request', { n, model: 'modèle-ü-' + 'x'.repeat(40) }); if (n === 2500) logger.info('wide', wide); }`;
    const lines = stdoutOf(script).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(5001);
    expect(lines[2501]).toBe(`wide ${Array.from({ length: 40 }, (_, f) => `f${f}=${'é'.repeat(1000)}`).join(' ')}`);
    lines.splice(2501, 1);
    expect(lines).toEqual(Array.from({ length: 5000 }, (_, n) => `request n=${n} model=modèle-ü-${'x'.repeat(40)}`));
  });
});
