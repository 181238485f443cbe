// Loaded with `node --require` before a documented snippet: the snippets print the answer's
// `data` with console.log, which shows nested objects as [Object]; this makes console.log
// print objects as JSON so the test can read the whole answer. The snippet itself is unchanged.
const log = console.log;
console.log = (...args) =>
  log(...args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))));
