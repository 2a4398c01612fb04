import { Args, Flags } from '@oclif/core';
import { SousCommand } from '../../base';
import { readSecret, readLine } from '../../ui/prompt';

export default class RegistryLogin extends SousCommand {
  static summary = 'Log in to a registry, where docker keeps its logins.';
  static description =
    'Checks the credential against the registry (Basic auth or its token service), then stores it where the docker CLI reads it: the helper registries.<host>.credentialHelper names, else the credHelpers or credsStore of $DOCKER_CONFIG/config.json (~/.docker/config.json), else its auths. Every Sous command that talks to the registry, and docker itself, then uses it. The password is read from stdin with --password-stdin (or asked for on a terminal), never taken as a flag.';
  static examples = [
    'echo "$GITHUB_TOKEN" | <%= config.bin %> registry login ghcr.io --username octocat --password-stdin',
    '<%= config.bin %> registry login registry.acme.com:5000 --username ci',
    'cat ~/ecr-password | <%= config.bin %> registry login 123456789012.dkr.ecr.eu-west-1.amazonaws.com --username AWS --password-stdin --json',
  ];
  static args = {
    host: Args.string({ description: 'the registry: host or host:port (docker.io for Docker Hub)', required: true }),
  };
  static flags = {
    username: Flags.string({ char: 'u', description: 'the user name (asked for on a terminal when missing)' }),
    'password-stdin': Flags.boolean({ description: 'read the password or access token from stdin' }),
  };

  async run() {
    const { args, flags } = await this.parseFlags(RegistryLogin);
    const { registryLogin, checkRegistryHost, usageError } = await import('@sous/core');
    const host = checkRegistryHost(args.host);
    const tty = process.stdin.isTTY === true;
    let username = flags.username ?? '';
    let password: string;
    if (flags['password-stdin']) {
      if (!username) throw usageError('REGISTRY_LOGIN_NO_USERNAME', `--password-stdin needs --username to log in to ${host}`, { hints: [`sous registry login ${host} --username USER --password-stdin`] });
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    } else if (tty) {
      if (!username) username = await readLine(`Username for ${host}: `);
      password = await readSecret(`Password for ${username}@${host}: `);
    } else {
      throw usageError('REGISTRY_LOGIN_NO_PASSWORD', `no password to log in to ${host} with: stdin is not a terminal, and --password-stdin was not given`, {
        hints: [`Pipe the password or token in: echo "$TOKEN" | sous registry login ${host} --username USER --password-stdin`],
      });
    }
    const r = await registryLogin(host, { username, password }, await this.config_());
    this.log(`Login Succeeded: ${r.username}@${r.registry}, stored in ${r.storedIn}`);
    return r;
  }
}
