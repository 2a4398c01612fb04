import { COMMON_STACK_OPTIONS, type CommonStackOptions, type StackOptionSpec } from '@sous/core';

/** Options of the java stack, from `javaStack(opts)` and `stacks.java` in the config (the config wins). */
export interface JavaStackOptions extends CommonStackOptions {
  /** Arguments before Maven's `package` goal (default: -DskipTests). */
  mavenArgs?: string[];
  /** Arguments before Gradle's `assemble` task. */
  gradleArgs?: string[];
}

export const JAVA_OPTION_SPEC: StackOptionSpec = { ...COMMON_STACK_OPTIONS, mavenArgs: 'strings', gradleArgs: 'strings' };

/** The conventional public images; `{version}` is the java release the build file targets. */
export const JAVA_DEFAULTS = {
  mavenImage: 'maven:3-eclipse-temurin-{version}',
  gradleImage: 'gradle:8-jdk{version}',
  runImage: 'eclipse-temurin:{version}-jre',
  /** The java release when the build file does not say. */
  version: '21',
  mavenArgs: ['-DskipTests'],
  gradleArgs: [] as string[],
  user: '10001',
  port: 8080,
} as const;
