#!/usr/bin/env node
/**
 * Local base images for the stacks, made from this machine's own files and
 * Debian's packages, because Docker Hub cannot be reached here. The tests, the
 * quickstart and the benchmarks use them in place of the public images the
 * stacks default to (see scripts/local-stacks.js).
 *
 *   node scripts/base-images.js [all|busybox|node|go|java|jre]...
 *
 * Each image carries a label with a hash of its recipe; an image whose label
 * matches is kept, so a second run only checks. Images:
 *   sous-local/busybox:latest  a static busybox: /bin/sh and its applets (the go run image)
 *   sous-local/node:20         the host's node and npm, their libraries, busybox for /bin/sh
 *   sous-local/golang:1.19     Debian's go 1.19 (golang-1.19-go + src) on busybox
 *   sous-local/java:17         Debian bookworm minbase with OpenJDK 17, Maven and its plugins
 *   sous-local/jre:17          Debian bookworm minbase with the OpenJDK 17 JRE (the java run image)
 * None of them holds the host's CA bundle: builds get it through the stacks' caCerts.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFileSync, spawnSync } = require('node:child_process');

const DOCKER = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const DOCKER_HOST = process.env.DOCKER_HOST || 'unix:///run/sous-engine/docker.sock';
const RECIPE_LABEL = 'dev.sous.base-recipe';
/** A non-root user every image knows by name; the stacks run as this uid by default. */
const APP_UID = 10001;
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function log(msg) {
  process.stdout.write(`${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: opts.quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) {
    const out = opts.quiet ? `\n${(r.stdout || '').slice(-2000)}${(r.stderr || '').slice(-2000)}` : '';
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})${out}`);
  }
  return r.stdout || '';
}

function docker(args, opts = {}) {
  return run(DOCKER, ['-H', DOCKER_HOST, ...args], { quiet: true, ...opts });
}

function imageRecipe(ref) {
  const r = spawnSync(DOCKER, ['-H', DOCKER_HOST, 'image', 'inspect', '--format', `{{ index .Config.Labels "${RECIPE_LABEL}" }}`, ref], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function hash(recipe) {
  return crypto.createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}

function mkdirs(root, ...dirs) {
  for (const d of dirs) fs.mkdirSync(path.join(root, d), { recursive: true });
}

function writeUsers(root) {
  mkdirs(root, 'etc', 'tmp', 'root', 'home/app');
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  fs.chownSync(path.join(root, 'home/app'), APP_UID, APP_UID);
  fs.writeFileSync(path.join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\napp:x:${APP_UID}:${APP_UID}:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n`);
  fs.writeFileSync(path.join(root, 'etc/group'), `root:x:0:\napp:x:${APP_UID}:\nnogroup:x:65534:\n`);
}

/** A static busybox as /bin/busybox with a link per applet, so /bin/sh and the usual tools exist. */
function installBusybox(root) {
  const src = '/usr/bin/busybox';
  if (!fs.existsSync(src)) throw new Error('/usr/bin/busybox is missing: apt-get install -y busybox-static');
  const info = run('file', ['-L', src], { quiet: true });
  if (!/statically linked/.test(info)) throw new Error(`${src} is not static: apt-get install -y busybox-static`);
  mkdirs(root, 'bin');
  fs.copyFileSync(src, path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  const applets = run(src, ['--list'], { quiet: true }).split('\n').filter(Boolean);
  for (const a of applets) {
    const p = path.join(root, 'bin', a);
    if (!fs.existsSync(p)) fs.symlinkSync('busybox', p);
  }
  // Scripts start with #!/usr/bin/env (npm's own bin scripts among them).
  mkdirs(root, 'usr/bin');
  fs.symlinkSync('/bin/busybox', path.join(root, 'usr/bin/env'));
}

/** Imports a root filesystem as an image, with Dockerfile-style changes (ENV, USER, CMD, LABEL). */
function importRootfs(root, ref, changes) {
  const tar = spawnSync('tar', ['--numeric-owner', '-C', root, '-c', '.'], { maxBuffer: 4 << 30 });
  if (tar.status !== 0) throw new Error(`tar of ${root} failed: ${tar.stderr}`);
  const args = ['import'];
  for (const c of changes) args.push('-c', c);
  args.push('-', ref);
  docker(args, { input: tar.stdout, stdio: ['pipe', 'pipe', 'pipe'] });
}

function tmpRoot(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sous-base-${name}-`));
}

function removeTree(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The mirror of the host's apt sources (http, so no CA is needed to reach it). */
function debianMirror() {
  const f = '/etc/apt/sources.list.d/debian.sources';
  if (fs.existsSync(f)) {
    const m = /^URIs:\s*(\S+)/m.exec(fs.readFileSync(f, 'utf8'));
    if (m) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

// --- recipes -------------------------------------------------------------

const busybox = {
  ref: 'sous-local/busybox:latest',
  recipe: () => ({ v: 3, busybox: fileId('/usr/bin/busybox'), uid: APP_UID }),
  make(root) {
    installBusybox(root);
    writeUsers(root);
    return [`ENV PATH=/bin`, 'CMD ["/bin/sh"]'];
  },
};

function fileId(p) {
  const st = fs.statSync(p);
  return `${p}:${st.size}:${Math.floor(st.mtimeMs)}`;
}

function nodeVersion() {
  return execFileSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).trim();
}

/** Copies a file to the same path under root, with the symlink chain that leads to it. */
function copyWithLinks(root, file) {
  let p = file;
  for (let i = 0; i < 10; i++) {
    const dest = path.join(root, p);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) {
      const target = fs.readlinkSync(p);
      if (!fs.existsSync(dest)) fs.symlinkSync(target, dest);
      p = path.resolve(path.dirname(p), target);
      continue;
    }
    if (!fs.existsSync(dest)) fs.copyFileSync(p, dest);
    fs.chmodSync(dest, st.mode & 0o7777);
    return;
  }
}

function sharedLibraries(bin) {
  const out = run('ldd', [bin], { quiet: true });
  const libs = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) || /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

const node = {
  ref: 'sous-local/node:20',
  recipe: () => ({ v: 3, node: nodeVersion(), npm: JSON.parse(fs.readFileSync('/usr/lib/node_modules/npm/package.json', 'utf8')).version, busybox: fileId('/usr/bin/busybox'), uid: APP_UID }),
  make(root) {
    const v = nodeVersion();
    if (!v.startsWith('v20.')) throw new Error(`/usr/bin/node is ${v}, not node 20`);
    installBusybox(root);
    writeUsers(root);
    mkdirs(root, 'usr/bin', 'usr/lib/node_modules');
    copyWithLinks(root, '/usr/bin/node');
    for (const lib of sharedLibraries('/usr/bin/node')) copyWithLinks(root, lib);
    fs.cpSync('/usr/lib/node_modules/npm', path.join(root, 'usr/lib/node_modules/npm'), { recursive: true, dereference: false });
    fs.symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(root, 'usr/bin/npm'));
    fs.symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', path.join(root, 'usr/bin/npx'));
    return [`ENV PATH=${PATH_ENV}`, 'ENV HOME=/root', `ENV NODE_VERSION=${v.slice(1)}`, 'CMD ["node"]'];
  },
};

/** Debian packages fetched with apt-get download (no chroot needed: go is static). */
function downloadDebs(dir, pkgs) {
  run('apt-get', ['download', ...pkgs], { cwd: dir, quiet: true });
  return fs.readdirSync(dir).filter((f) => f.endsWith('.deb')).map((f) => path.join(dir, f));
}

function debVersion(pkg) {
  const out = run('apt-cache', ['policy', pkg], { quiet: true });
  const m = /Candidate:\s*(\S+)/.exec(out);
  if (!m || m[1] === '(none)') throw new Error(`apt knows no ${pkg}: run apt-get update`);
  return m[1];
}

const GO_PKGS = ['golang-1.19-go', 'golang-1.19-src'];
const go = {
  ref: 'sous-local/golang:1.19',
  recipe: () => ({ v: 3, debs: GO_PKGS.map((p) => `${p}=${debVersion(p)}`), busybox: fileId('/usr/bin/busybox'), uid: APP_UID }),
  make(root) {
    installBusybox(root);
    writeUsers(root);
    const dl = tmpRoot('debs');
    try {
      for (const deb of downloadDebs(dl, GO_PKGS)) run('dpkg-deb', ['-x', deb, root], { quiet: true });
    } finally {
      removeTree(dl);
    }
    const goBin = path.join(root, 'usr/lib/go-1.19/bin/go');
    if (!fs.existsSync(goBin)) throw new Error('golang-1.19-go did not provide usr/lib/go-1.19/bin/go');
    // The go tool is linked statically by Debian, but a dynamically linked one would need libc.
    for (const lib of /statically linked/.test(run('file', [goBin], { quiet: true })) ? [] : sharedLibraries(goBin)) copyWithLinks(root, lib);
    mkdirs(root, 'usr/local/bin');
    fs.symlinkSync('/usr/lib/go-1.19/bin/go', path.join(root, 'usr/local/bin/go'));
    fs.symlinkSync('/usr/lib/go-1.19/bin/gofmt', path.join(root, 'usr/local/bin/gofmt'));
    return [`ENV PATH=/usr/lib/go-1.19/bin:${PATH_ENV}`, 'ENV HOME=/root', 'ENV GOLANG_VERSION=1.19', 'ENV GOTOOLCHAIN=local', 'CMD ["go", "version"]'];
  },
};

/** debootstrap minbase of bookworm, then apt-get install inside the chroot (with /proc mounted). */
function debianRootfs(root, pkgs) {
  const mirror = debianMirror();
  run('debootstrap', ['--variant=minbase', 'bookworm', root, mirror], { quiet: true });
  const sources = '/etc/apt/sources.list.d/debian.sources';
  if (fs.existsSync(sources)) {
    fs.copyFileSync(sources, path.join(root, 'etc/apt/sources.list.d/debian.sources'));
    fs.rmSync(path.join(root, 'etc/apt/sources.list'), { force: true });
  }
  fs.copyFileSync('/etc/resolv.conf', path.join(root, 'etc/resolv.conf'));
  const proc = path.join(root, 'proc');
  run('mount', ['-t', 'proc', 'proc', proc]);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' };
    run('chroot', [root, 'apt-get', 'update', '-q'], { quiet: true, env });
    run('chroot', [root, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...pkgs], { quiet: true, env });
    run('chroot', [root, 'apt-get', 'clean'], { quiet: true, env });
    run('chroot', [root, 'useradd', '--uid', String(APP_UID), '--create-home', '--shell', '/bin/sh', 'app'], { quiet: true, env });
  } finally {
    spawnSync('umount', ['-l', proc]);
  }
  removeTree(path.join(root, 'var/lib/apt/lists'));
  fs.mkdirSync(path.join(root, 'var/lib/apt/lists/partial'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/resolv.conf'), '');
  removeTree(path.join(root, 'var/cache/apt'));
  removeTree(path.join(root, 'var/log'));
  fs.mkdirSync(path.join(root, 'var/log'));
}

const JDK_PKGS = [
  'openjdk-17-jdk-headless',
  'maven',
  'libmaven-compiler-plugin-java',
  'libmaven-jar-plugin-java',
  'libmaven-resources-plugin-java',
  'libmaven-install-plugin-java',
  'libsurefire-java',
];
const java = {
  ref: 'sous-local/java:17',
  recipe: () => ({ v: 2, suite: 'bookworm', pkgs: JDK_PKGS, uid: APP_UID }),
  make(root) {
    debianRootfs(root, JDK_PKGS);
    return [`ENV PATH=${PATH_ENV}`, 'ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64', 'ENV MAVEN_HOME=/usr/share/maven', 'CMD ["mvn", "--version"]'];
  },
};

const JRE_PKGS = ['openjdk-17-jre-headless'];
const jre = {
  ref: 'sous-local/jre:17',
  recipe: () => ({ v: 2, suite: 'bookworm', pkgs: JRE_PKGS, uid: APP_UID }),
  make(root) {
    debianRootfs(root, JRE_PKGS);
    return [`ENV PATH=${PATH_ENV}`, 'ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64', 'CMD ["java", "-version"]'];
  },
};

const IMAGES = { busybox, node, go, java, jre };
const GROUPS = { all: ['busybox', 'node', 'go', 'java', 'jre'], java: ['java', 'jre'] };

/**
 * Makes (or keeps) the named images. Returns what happened to each:
 * `{ ref, status: 'cached' | 'created', seconds }`.
 */
function ensure(names = ['all'], opts = {}) {
  const say = opts.log ?? log;
  const wanted = [...new Set(names.flatMap((n) => GROUPS[n] ?? [n]))];
  const unknown = wanted.filter((n) => !IMAGES[n]);
  if (unknown.length) throw new Error(`unknown image ${unknown.join(', ')}: choose from all, ${Object.keys(IMAGES).join(', ')}`);
  const results = [];
  for (const n of wanted) {
    const img = IMAGES[n];
    const t0 = Date.now();
    const recipe = hash(img.recipe());
    if (!opts.force && imageRecipe(img.ref) === recipe) {
      results.push({ ref: img.ref, status: 'cached', seconds: (Date.now() - t0) / 1000 });
      say(`${img.ref}: cached (recipe ${recipe})`);
      continue;
    }
    say(`${img.ref}: making (recipe ${recipe})...`);
    const root = tmpRoot(n);
    try {
      const changes = img.make(root);
      importRootfs(root, img.ref, [...changes, `LABEL ${RECIPE_LABEL}=${recipe}`]);
    } finally {
      removeTree(root);
    }
    const seconds = (Date.now() - t0) / 1000;
    results.push({ ref: img.ref, status: 'created', seconds });
    say(`${img.ref}: created in ${seconds.toFixed(1)} s`);
  }
  return results;
}

module.exports = { ensure, IMAGES, APP_UID, RECIPE_LABEL };

if (require.main === module) {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const names = args.filter((a) => !a.startsWith('--'));
  try {
    ensure(names.length ? names : ['all'], { force });
  } catch (e) {
    process.stderr.write(`base-images: ${e.message}\n`);
    process.exit(1);
  }
}
