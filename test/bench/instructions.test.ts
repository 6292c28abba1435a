import { instructionsByFunction, requestWork } from '../../bench/instructions';

const OUTPUT = [
  'desc: I1 cache:         32768 B, 64 B, 8-way associative',
  'cmd: node --single-threaded server.js',
  'events: Ir',
  'fl=???',
  'fn=???',
  '0 1000',
  '0 500',
  'fl=src/builtins',
  'fn=Builtins_StringAdd_CheckNone',
  '0 70',
  'fn=v8::internal::compiler::GraphReducer::ReduceTop()',
  '0 400',
  'fn=v8::internal::maglev::MaglevGraphBuilder::Build()',
  '0 300',
  'fn=v8::internal::Scanner::Next()',
  '0 200',
  'fn=Builtins_StringAdd_CheckNone',
  '12 30',
  'summary: 2500',
].join('\n');

describe('counting instructions (cachegrind)', () => {
  it("adds up each function's rows, wherever its rows are", () => {
    const counts = instructionsByFunction(OUTPUT);
    expect(counts.get('???')).toBe(1500);
    expect(counts.get('Builtins_StringAdd_CheckNone')).toBe(100);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(2500);
  });

  it("leaves V8's parser and compilers out of a request's work, and keeps compiled code and builtins", () => {
    expect(requestWork(instructionsByFunction(OUTPUT))).toBe(1600);
  });
});
