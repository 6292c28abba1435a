import { instructionsByFunction, requestWork } from '../../bench/instructions';

/** A callgrind dump's shape: compressed names, positions with and without a sign, and calls' costs. */
const OUTPUT = [
  '# callgrind format',
  'version: 1',
  'cmd: node --single-threaded server.js',
  'positions: line',
  'events: Ir',
  'fl=(1) ???',
  'fn=(1) 0x0000000028194600',
  '0 1000',
  '+2 500',
  'cfn=(2) Builtins_StringAdd_CheckNone',
  'calls=3 0',
  '0 210',
  'fl=(2) src/builtins',
  'fn=(2)',
  '0 70',
  '* 30',
  'fn=(3) v8::internal::compiler::GraphReducer::ReduceTop()',
  '0 400',
  'fn=(4) v8::internal::maglev::MaglevGraphBuilder::Build()',
  '-1 300',
  'fn=(5) v8::internal::Scanner::Next()',
  '0 200',
  'fn=(6) void v8::internal::MarkingVisitorBase<v8::internal::MainMarkingVisitor>::ProcessStrongHeapObject()',
  '0 90',
  'fn=(7) v8::internal::Sweeper::RawSweep()',
  '0 10',
  'fn=(1)',
  '0 5',
  'totals: 2605',
].join('\n');

describe('counting instructions (callgrind)', () => {
  it("adds up each function's own rows, wherever they are, and not what its calls cost", () => {
    const counts = instructionsByFunction(OUTPUT);
    expect(counts.get('0x0000000028194600')).toBe(1505);
    expect(counts.get('Builtins_StringAdd_CheckNone')).toBe(100);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(2605);
  });

  it("leaves V8's parser and compilers and its major collections out of a request's work, and keeps compiled code and builtins", () => {
    expect(requestWork(instructionsByFunction(OUTPUT))).toEqual({ work: 1605, majorCollection: 100 });
  });
});
