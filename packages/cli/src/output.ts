/** Stage names and results as the API sends them. */
export interface StageLine {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  durationMs: number;
  code?: string | undefined;
}

/** How to write for this terminal: colour and a spinner only on a TTY, never with NO_COLOR. */
export class Output {
  private spinner: NodeJS.Timeout | undefined;
  private readonly colour: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly err: NodeJS.WriteStream,
    options: { noColor: boolean },
  ) {
    this.colour = out.isTTY === true && !options.noColor;
  }

  private paint(code: number, text: string): string {
    return this.colour ? `\u001b[${code}m${text}\u001b[0m` : text;
  }

  line(text = ''): void {
    this.stopSpinner();
    this.out.write(`${text}\n`);
  }

  json(value: unknown): void {
    this.stopSpinner();
    this.out.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  error(text: string): void {
    this.stopSpinner();
    this.err.write(`${this.paint(31, 'error')}: ${text}\n`);
  }

  /** `✓ tls 12 ms`, `- tls skipped (TLS_NOT_OFFERED)`, `✗ auth AUTH_FAILED`. */
  stage(stage: StageLine): void {
    if (stage.status === 'ok') this.line(`${this.paint(32, '✓')} ${stage.name} ${stage.durationMs} ms`);
    else if (stage.status === 'skipped')
      this.line(`${this.paint(2, '-')} ${stage.name} skipped${stage.code ? ` (${stage.code})` : ''}`);
    else this.line(`${this.paint(31, '✗')} ${stage.name} ${stage.code ?? 'FAILED'}`);
  }

  hint(text: string): void {
    this.line(`  ${this.paint(2, text)}`);
  }

  /** A spinner on the line of what is running; only on a TTY (stdout), cleared by the next line. */
  startSpinner(label: string): void {
    if (this.out.isTTY !== true || this.spinner) return;
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let n = 0;
    this.spinner = setInterval(() => {
      this.out.write(`\r${frames[n++ % frames.length]} ${label}`);
    }, 80);
  }

  private stopSpinner(): void {
    if (!this.spinner) return;
    clearInterval(this.spinner);
    this.spinner = undefined;
    this.out.write('\r\u001b[2K');
  }
}
