import { argLines, bindMount, envLines, execForm, imageRef, readExtraFiles, renderTemplate, tidyDockerfile, usageError, type BuildPlan, type CaBundle } from '@sous/core';
import type { JavaProject } from './project';
import { JAVA_DEFAULTS, type JavaStackOptions } from './options';
import { TRUSTSTORE_PASSWORD, jksTruststore, pemCertificates } from './truststore';

/** What the java stack adds to a build plan. */
export type JavaPlan = Pick<BuildPlan, 'dockerfile' | 'extraFiles' | 'buildArgs' | 'inputs' | 'command' | 'ignore'>;

const TRUSTSTORE_FILE = '.sous/ca.jks';
const TRUSTSTORE_TARGET = '/run/sous/ca.jks';

/** Shell words, quoted only where the shell would split or expand them. */
function shellWords(args: readonly string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Picks the application jar: the largest one that is not sources, javadoc, tests or a pre-shade original. */
function pickJar(dir: string): string {
  const message = `sous: JAVA_NO_JAR: the build produced no application jar in ${dir}/ (the java stack runs it with java -jar). Check <packaging>jar</packaging> (Maven) or the java/application plugin (Gradle).`;
  return [
    `jar="$(ls -S ${dir}/*.jar 2>/dev/null | grep -v -e '-sources\\.jar$' -e '-javadoc\\.jar$' -e '-tests\\.jar$' -e '-plain\\.jar$' -e '/original-' | head -n 1)"`,
    `if [ -z "$jar" ]; then echo "${message}" >&2; exit 1; fi`,
    'mkdir -p /out && cp "$jar" /out/app.jar',
  ].join('; ');
}

/**
 * The java stack's plan: Maven (`mvn package`) or Gradle (`assemble`, the
 * wrapper when the project has one) in a JDK builder, the jar alone on a
 * JRE run image. Extra CA certificates go into the builder's truststore only.
 */
export function javaPlan(_dir: string, project: JavaProject, opts: JavaStackOptions, ca?: CaBundle, globalArgs: Record<string, string> = {}): JavaPlan {
  const version = project.release ?? opts.version ?? JAVA_DEFAULTS.version;
  const maven = project.tool === 'maven';
  const builderImage = imageRef(opts.builderImage ?? opts.baseImage ?? (maven ? JAVA_DEFAULTS.mavenImage : JAVA_DEFAULTS.gradleImage), version);
  const runImage = imageRef(opts.runImage ?? opts.baseImage ?? JAVA_DEFAULTS.runImage, version);
  const command = opts.command ?? ['java', '-jar', '/app/app.jar'];
  const buildArgs = { ...globalArgs, ...(opts.buildArgs ?? {}) };
  const cache = maven ? '--mount=type=cache,target=/root/.m2' : '--mount=type=cache,target=/root/.gradle';
  const gradle = project.wrapper ? 'chmod +x gradlew && ./gradlew' : 'gradle';

  const files: Record<string, string | Buffer> = {};
  let trustStep = '';
  if (ca) {
    const certs = pemCertificates(ca.pem);
    if (!certs.length) throw usageError('CA_CERT_INVALID', `the CA certificates (${ca.files.join(', ')}) hold no PEM certificate`, { hints: ['Give PEM files in build.caCerts'] });
    files[TRUSTSTORE_FILE] = jksTruststore(certs);
    // Maven, Gradle and the Gradle wrapper all trust the JDK's cacerts: the certificates join it, in the builder only.
    trustStep = `RUN ${bindMount(TRUSTSTORE_FILE, TRUSTSTORE_TARGET)} keytool -importkeystore -noprompt -srckeystore ${TRUSTSTORE_TARGET} -srcstorepass ${TRUSTSTORE_PASSWORD} -cacerts -deststorepass changeit > /dev/null`;
  }
  const installStep = opts.install ? `COPY ${project.buildFiles.join(' ')} ./\nRUN ${cache} ${opts.install}` : '';
  const values: Record<string, string> = {
    javaVersion: version,
    builderImage,
    runImage,
    buildArgs: argLines(buildArgs),
    trustStep,
    installStep,
    buildMounts: cache,
    pickJar: pickJar(maven ? 'target' : 'build/libs'),
    env: envLines(opts.env),
    extraFiles: Object.keys(opts.extraFiles ?? {}).length ? 'COPY .sous/files/ /app/' : '',
    user: String(opts.user ?? JAVA_DEFAULTS.user),
    port: String(opts.port ?? JAVA_DEFAULTS.port),
    command: execForm(command),
  };
  if (maven) values.mavenArgs = shellWords(['--no-transfer-progress', ...(opts.mavenArgs ?? JAVA_DEFAULTS.mavenArgs)]);
  else {
    values.gradle = gradle;
    const args = shellWords(opts.gradleArgs ?? JAVA_DEFAULTS.gradleArgs);
    values.gradleArgs = args ? `${args} ` : '';
  }
  const dockerfile = tidyDockerfile(renderTemplate(maven ? 'java-maven.Dockerfile.tmpl' : 'java-gradle.Dockerfile.tmpl', values));
  for (const [p, c] of Object.entries(readExtraFiles('java', opts.extraFiles))) files[`.sous/files/${p}`] = c;
  return {
    dockerfile,
    extraFiles: files,
    buildArgs,
    inputs: { 'image:builder': builderImage, 'image:run': runImage },
    command,
    ignore: maven ? ['target'] : ['build', '.gradle'],
  };
}
