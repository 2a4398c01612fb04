import { bindMount, commonPlanParts, execForm, renderTemplate, tidyDockerfile, usageError, type CaBundle, type StackPlan } from '@sous/core';
import type { JavaProject } from './project';
import { JAVA_DEFAULTS, type JavaStackOptions } from './options';
import { TRUSTSTORE_PASSWORD, jksTruststore, pemCertificates } from './truststore';

/** What the java stack adds to a build plan. */
export type JavaPlan = StackPlan;

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
  const command = opts.command ?? ['java', '-jar', '/app/app.jar'];
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
  const common = commonPlanParts('java', opts, { ...JAVA_DEFAULTS, builderImage: maven ? JAVA_DEFAULTS.mavenImage : JAVA_DEFAULTS.gradleImage }, version, globalArgs);
  const values: Record<string, string> = {
    ...common.values,
    javaVersion: version,
    trustStep,
    installStep,
    buildMounts: cache,
    pickJar: pickJar(maven ? 'target' : 'build/libs'),
    command: execForm(command),
  };
  if (maven) values.mavenArgs = shellWords(['--no-transfer-progress', ...(opts.mavenArgs ?? JAVA_DEFAULTS.mavenArgs)]);
  else {
    values.gradle = gradle;
    const args = shellWords(opts.gradleArgs ?? JAVA_DEFAULTS.gradleArgs);
    values.gradleArgs = args ? `${args} ` : '';
  }
  const dockerfile = tidyDockerfile(renderTemplate(maven ? 'java-maven.Dockerfile.tmpl' : 'java-gradle.Dockerfile.tmpl', values));
  return {
    dockerfile,
    extraFiles: { ...files, ...common.files },
    buildArgs: common.buildArgs,
    inputs: common.inputs,
    command,
    ignore: maven ? ['target'] : ['build', '.gradle'],
  };
}
