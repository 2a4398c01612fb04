/**
 * Progress for long work: on a terminal, one line per phase with a spinner on
 * the running one and the builder's latest step under it; otherwise plain
 * lines, one per event, fit for CI logs.
 */
export interface TaskList {
  phase(name: string, status: 'start' | 'done' | 'skip' | 'fail', detail?: string): void;
  progress(message: string): void;
  close(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function taskList(stream: NodeJS.WriteStream = process.stderr, quiet = false): TaskList {
  if (quiet) return { phase() {}, progress() {}, close() {} };
  if (!stream.isTTY) {
    const started = new Map<string, number>();
    return {
      phase(name, status, detail) {
        if (status === 'start') started.set(name, Date.now());
        const secs = status === 'done' || status === 'fail' ? ` (${((Date.now() - (started.get(name) ?? Date.now())) / 1000).toFixed(1)}s)` : '';
        stream.write(`${name}: ${status}${secs}${detail ? ` ${detail}` : ''}\n`);
      },
      progress(message) {
        stream.write(`  ${message}\n`);
      },
      close() {},
    };
  }
  let current: { name: string; at: number; detail: string } | undefined;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const width = () => Math.max(20, (stream.columns ?? 100) - 1);
  const draw = () => {
    if (!current) return;
    const secs = ((Date.now() - current.at) / 1000).toFixed(1);
    const line = `${FRAMES[frame++ % FRAMES.length]} ${current.name.padEnd(9)} ${secs}s ${current.detail}`;
    stream.write(`\r\x1b[2K${line.slice(0, width())}`);
  };
  const finish = (mark: string, name: string, detail?: string, secs?: string) => {
    stream.write(`\r\x1b[2K${mark} ${name.padEnd(9)} ${secs ? secs + 's ' : ''}${detail ?? ''}`.slice(0, width() + 12) + '\n');
  };
  return {
    phase(name, status, detail) {
      if (status === 'start') {
        current = { name, at: Date.now(), detail: detail ?? '' };
        timer ??= setInterval(draw, 100);
        draw();
        return;
      }
      const secs = current && current.name === name ? ((Date.now() - current.at) / 1000).toFixed(1) : undefined;
      finish(status === 'done' ? '✔' : status === 'skip' ? '-' : '✖', name, detail, secs);
      if (current?.name === name) current = undefined;
    },
    progress(message) {
      if (current) {
        current.detail = message.replace(/\s+/g, ' ');
        draw();
      }
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
