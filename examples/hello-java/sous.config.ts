import { defineConfig } from '@sous/core';
import { javaStack } from '@sous/plugin-stack-java';

// Maven Central cannot be reached where this example is built: Maven runs offline
// against the repository Debian's Maven packages install. Elsewhere, drop mavenArgs.
export default defineConfig({
  plugins: [javaStack({ mavenArgs: ['-o', '-Dmaven.repo.local=/usr/share/maven-repo', '-DskipTests'] })],
});
