import { Args } from '@oclif/core';
import { SousCommand } from '../../base';

export default class RegistryLogout extends SousCommand {
  static summary = 'Forget the login of a registry.';
  static description =
    'Removes the credential of the registry from where `sous registry login` and `docker login` keep it: the configured credential helper (or config.json\'s credHelpers and credsStore) and the auths of $DOCKER_CONFIG/config.json. Not being logged in is no error. Credentials from the config\'s registries.<host>.passwordEnv are not touched: unset the variable.';
  static examples = ['<%= config.bin %> registry logout ghcr.io', '<%= config.bin %> registry logout registry.acme.com:5000 --json'];
  static args = {
    host: Args.string({ description: 'the registry: host or host:port', required: true }),
  };

  async run() {
    const { args } = await this.parseFlags(RegistryLogout);
    const { registryLogout } = await import('@sous/core');
    const r = await registryLogout(args.host, await this.config_());
    this.log(r.removedFrom.length ? `Removed the login of ${r.registry} from ${r.removedFrom.join(' and ')}` : `Not logged in to ${r.registry}`);
    return r;
  }
}
