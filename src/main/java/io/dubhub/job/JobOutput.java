package io.dubhub.job;

/** One delivered file: where it is (relative to the job's sink folder), how big, its SHA-256. */
public record JobOutput(String language, String type, String path, long bytes, String sha256) {
}
