import { StackPlugin, usageError, type BuildPlan, type CaBundle, type Workspace } from '@sous/core';
import { JAVA_OPTION_SPEC, type JavaStackOptions } from './options';
import { javaPlan } from './plan';
import { detectJavaProject } from './project';

export { JAVA_DEFAULTS, JAVA_OPTION_SPEC, type JavaStackOptions } from './options';
export { javaPlan, type JavaPlan } from './plan';
export { detectJavaProject, type JavaProject, type JavaTool } from './project';
export { jksTruststore, pemCertificates } from './truststore';

/**
 * The java stack: a Maven (pom.xml) or Gradle (build.gradle[.kts]) project
 * is built in a JDK image and its jar run on a JRE as a non-root user.
 */
export class JavaStackPlugin extends StackPlugin<JavaStackOptions> {
  static readonly PLUGIN_NAME = 'sous:stack-java';
  static readonly STACK = 'java';
  readonly name = JavaStackPlugin.PLUGIN_NAME;
  readonly stack = JavaStackPlugin.STACK;
  protected readonly spec = JAVA_OPTION_SPEC;

  protected detect(dir: string): boolean {
    return detectJavaProject(dir) !== undefined;
  }

  protected plan(ws: Workspace, opts: JavaStackOptions, ca: CaBundle | undefined): Partial<BuildPlan> {
    const project = detectJavaProject(ws.dir);
    if (!project) throw usageError('JAVA_NO_BUILD_FILE', `${ws.dir} has no pom.xml, build.gradle or build.gradle.kts`, { hints: ['The java stack builds Maven and Gradle projects'] });
    return javaPlan(ws.dir, project, opts, ca, ws.config.build.args);
  }
}

/** The java stack plugin, for `plugins` in sous.config.ts (its options under `stacks.java` win). */
export const javaStack = (opts?: JavaStackOptions): JavaStackPlugin => new JavaStackPlugin(opts);
