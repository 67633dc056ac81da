package io.thetacal.jobs.config;

/**
 * Where jobs write.
 *
 * @param root the output root every job reads from and writes under ({@code --out} overrides it); a
 *     local path or any Hadoop file system URI
 */
public record OutputSettings(String root) {
}
