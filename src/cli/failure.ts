/** The admin API refused or could not be reached: exit status 1. */
export class CliFailure extends Error {
  readonly code = 'TG_CLI_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}
