// eslint-disable-next-line @typescript-eslint/no-require-imports -- Jest loads reporters as CommonJS
const { writeFileSync } = require('node:fs');

// Prints one plain closing line, "Tests: N passed, N failed, N skipped", that any CI can read. It is written
// at process exit so that it comes after Jest's own summary, which Jest always prints last.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `Tests: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`;
    // Under `npm test` (scripts/test.mjs) the counts go to a file, for one line over every Node runtime.
    const file = process.env.PROXY_TEST_SUMMARY_FILE;
    if (file) writeFileSync(file, JSON.stringify({ passed: results.numPassedTests, failed, skipped }));
    else process.once('exit', () => process.stderr.write(line));
  }
}
module.exports = SummaryReporter;
