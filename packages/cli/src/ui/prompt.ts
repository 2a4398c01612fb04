/** Questions on a terminal: a line, or a secret that is not echoed. */
import * as readline from 'node:readline';

export function readLine(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise((resolve) => rl.question(question, (a) => (rl.close(), resolve(a.trim()))));
}

export function readSecret(question: string): Promise<string> {
  const out = process.stderr;
  const rl = readline.createInterface({ input: process.stdin, output: out, terminal: true });
  // Echo nothing of what is typed after the question.
  const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput;
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    if (s.startsWith(question)) write.call(rl, question);
  };
  return new Promise((resolve) =>
    rl.question(question, (a) => {
      rl.close();
      out.write('\n');
      resolve(a);
    }),
  );
}
