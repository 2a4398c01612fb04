import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Sous, type ResolvedConfig, type Workspace } from '@sous/core';
import { javaPlan } from './plan';
import { detectJavaProject } from './project';
import { jksTruststore, pemCertificates } from './truststore';
import { javaStack } from './index';

let dir: string;
const POM = (props = '') => `<?xml version="1.0"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><properties>${props}</properties></project>\n`;

function app(files: Record<string, string>): void {
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), c);
  }
}

function plan(opts = {}, ca?: { pem: string; files: string[] }) {
  const project = detectJavaProject(dir);
  if (!project) throw new Error('no java project');
  return javaPlan(dir, project, opts, ca);
}

const runStage = (d: string) => d.slice(d.lastIndexOf('\nFROM '));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-java-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('Maven', () => {
  it('packages with mvn in a Maven+JDK builder and runs the jar on a JRE', () => {
    app({ 'pom.xml': POM('<maven.compiler.release>17</maven.compiler.release>') });
    const p = plan();
    expect(p.dockerfile).toContain('FROM maven:3-eclipse-temurin-17 AS build');
    expect(p.dockerfile).toContain('RUN --mount=type=cache,target=/root/.m2 mvn -B --no-transfer-progress -DskipTests package');
    expect(p.dockerfile).toContain("ls -S target/*.jar");
    expect(p.dockerfile).toContain('sous: JAVA_NO_JAR');
    const run = runStage(p.dockerfile);
    expect(run).toMatch(/^FROM eclipse-temurin:17-jre$/m);
    expect(run).toContain('COPY --from=build /out/app.jar /app/app.jar');
    expect(run).toContain('CMD ["java","-jar","/app/app.jar"]');
    expect(run).toContain('USER 10001');
    expect(run).toContain('ENV APP_VERSION=$APP_VERSION');
    expect(p.ignore).toEqual(['target']);
  });

  it.each([
    ['<java.version>11</java.version>', '11'],
    ['<maven.compiler.source>1.8</maven.compiler.source>', '8'],
    ['', '21'],
  ])('takes the release from the POM (%s → %s)', (props, v) => {
    app({ 'pom.xml': POM(props) });
    expect(plan().inputs).toEqual({ 'image:builder': `maven:3-eclipse-temurin-${v}`, 'image:run': `eclipse-temurin:${v}-jre` });
  });

  it('runs offline with the given Maven args (quoted for the shell where needed)', () => {
    app({ 'pom.xml': POM() });
    const d = plan({ mavenArgs: ['-o', '-Dmaven.repo.local=/usr/share/maven-repo', '-Dname=two words'] }).dockerfile;
    expect(d).toContain("mvn -B --no-transfer-progress -o -Dmaven.repo.local=/usr/share/maven-repo '-Dname=two words' package");
  });

  it('runs an install step on the build files alone before the sources, when given one', () => {
    app({ 'pom.xml': POM() });
    expect(plan({ install: 'mvn -B dependency:go-offline' }).dockerfile).toMatch(/COPY pom\.xml \.\/\nRUN --mount=type=cache,target=\/root\/\.m2 mvn -B dependency:go-offline\nCOPY \. \./);
  });

  it('refuses a pom.xml that is not a POM', () => {
    app({ 'pom.xml': '<html></html>' });
    expect(() => detectJavaProject(dir)).toThrow(expect.objectContaining({ code: 'JAVA_POM_INVALID' }));
  });

  it('puts the CA into the builder JDK truststore only, from a JKS made of the PEM bundle', () => {
    app({ 'pom.xml': POM() });
    const pem = fs.readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/).slice(0, 3).join('');
    const p = plan({}, { pem, files: ['/x.pem'] });
    expect(p.dockerfile).toContain('RUN --mount=type=bind,source=.sous/ca.jks,target=/run/sous/ca.jks keytool -importkeystore -noprompt -srckeystore /run/sous/ca.jks');
    expect(runStage(p.dockerfile)).not.toMatch(/ca\.jks|keytool/);
    const jks = p.extraFiles['.sous/ca.jks'] as Buffer;
    expect(jks.readUInt32BE(0)).toBe(0xfeedfeed);
    expect(jks.readUInt32BE(8)).toBe(3);
  });
});

describe('Gradle', () => {
  it('assembles with gradle, or with the wrapper when there is one', () => {
    app({ 'build.gradle.kts': 'java { toolchain { languageVersion.set(JavaLanguageVersion.of(17)) } }\n', 'settings.gradle.kts': '' });
    let p = plan();
    expect(p.dockerfile).toContain('FROM gradle:8-jdk17 AS build');
    expect(p.dockerfile).toContain('RUN --mount=type=cache,target=/root/.gradle gradle --no-daemon --console=plain assemble');
    expect(p.dockerfile).toContain('ls -S build/libs/*.jar');
    expect(p.dockerfile).toContain("-e '-plain\\.jar$'");
    expect(p.ignore).toEqual(['build', '.gradle']);
    app({ gradlew: '#!/bin/sh\n', 'gradle/wrapper/gradle-wrapper.properties': '' });
    p = plan({ gradleArgs: ['--offline'] });
    expect(p.dockerfile).toContain('chmod +x gradlew && ./gradlew --no-daemon --console=plain --offline assemble');
  });

  it('takes the release from sourceCompatibility', () => {
    app({ 'build.gradle': "sourceCompatibility = JavaVersion.VERSION_11\n" });
    expect(plan().inputs['image:run']).toBe('eclipse-temurin:11-jre');
  });

  it('prefers pom.xml when both build files exist', () => {
    app({ 'build.gradle': '', 'pom.xml': POM() });
    expect(detectJavaProject(dir)?.tool).toBe('maven');
  });
});

describe('jksTruststore', () => {
  it('writes a keystore keytool reads, with every certificate of the bundle', () => {
    let keytool = true;
    try {
      execFileSync('keytool', ['-help'], { stdio: 'ignore' });
    } catch {
      keytool = false;
    }
    const pem = fs.readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8');
    const certs = pemCertificates(pem);
    expect(certs.length).toBe((pem.match(/BEGIN CERTIFICATE/g) ?? []).length);
    const file = path.join(dir, 'ca.jks');
    fs.writeFileSync(file, jksTruststore(certs));
    if (!keytool) return; // keytool (a JDK) is what reads it; the count check above stands alone.
    const out = execFileSync('keytool', ['-list', '-keystore', file, '-storepass', 'changeit'], { encoding: 'utf8' });
    expect(out).toContain(`Your keystore contains ${certs.length} entries`);
    expect(() => execFileSync('keytool', ['-list', '-keystore', file, '-storepass', 'wrong'], { stdio: 'ignore' })).toThrow();
  });
});

describe('javaStack()', () => {
  const config = (stacks: Record<string, Record<string, unknown>> = {}) => ({ warnings: [], stacks, build: {} }) as unknown as ResolvedConfig;

  it('recognises pom.xml, build.gradle and build.gradle.kts', async () => {
    const sous = new Sous(config()).use(javaStack());
    const ws = { dir, config: sous.config } as Workspace;
    expect(await sous.hooks.detectStack.promise(ws)).toBeUndefined();
    app({ 'build.gradle.kts': '' });
    expect(await sous.hooks.detectStack.promise(ws)).toBe('java');
  });

  it('validates mavenArgs and gradleArgs with the common options', () => {
    expect(() => new Sous(config({ java: { mavenArg: ['-o'] } })).use(javaStack()).validateConfig()).toThrow(expect.objectContaining({ message: expect.stringContaining('did you mean mavenArgs?') }));
    expect(() => new Sous(config({ java: { gradleArgs: '--offline' } })).use(javaStack()).validateConfig()).toThrow(expect.objectContaining({ code: 'STACK_OPTION_INVALID' }));
    expect(new Sous(config({ java: { mavenArgs: ['-o'], runImage: 'jre:17' } })).use(javaStack()).validateConfig().errors).toEqual([]);
  });
});
