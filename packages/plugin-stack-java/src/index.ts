import { checkStackOptions, collectCaCerts, mergePlan, resolveStackOptions, usageError, type Sous, type SousPlugin } from '@sous/core';
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
export class JavaStackPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:stack-java';
  static readonly STACK = 'java';
  readonly name = JavaStackPlugin.PLUGIN_NAME;

  constructor(private readonly opts: JavaStackOptions = {}) {}

  apply(sous: Sous): void {
    const stack = JavaStackPlugin.STACK;
    sous.hooks.validate.tap(this.name, (config, report) => {
      report.errors.push(...checkStackOptions(stack, JAVA_OPTION_SPEC, this.opts, 'the javaStack() options'), ...checkStackOptions(stack, JAVA_OPTION_SPEC, config.stacks[stack], 'the configuration'));
    });
    sous.hooks.detectStack.tapPromise(this.name, async (ws) => (detectJavaProject(ws.dir) ? stack : undefined));
    sous.hooks.buildPlan.for(stack).tapPromise(this.name, async (plan, ws) => {
      const project = detectJavaProject(ws.dir);
      if (!project) throw usageError('JAVA_NO_BUILD_FILE', `${ws.dir} has no pom.xml, build.gradle or build.gradle.kts`, { hints: ['The java stack builds Maven and Gradle projects'] });
      const opts = resolveStackOptions(stack, JAVA_OPTION_SPEC, this.opts, ws.config);
      return mergePlan(plan, javaPlan(ws.dir, project, opts, collectCaCerts(ws.config), ws.config.build.args));
    });
  }
}

/** The java stack plugin, for `plugins` in sous.config.ts (its options under `stacks.java` win). */
export const javaStack = (opts?: JavaStackOptions): JavaStackPlugin => new JavaStackPlugin(opts);
