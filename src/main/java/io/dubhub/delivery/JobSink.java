package io.dubhub.delivery;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Where one job's outputs end up: the folder outbox or an S3 prefix. Same layout in both
 * ({@code <language>/<file>} plus {@code job.json}); each file appears whole or not at all, and
 * the manifest is written last, so whoever sees job.json sees a complete job.
 */
public interface JobSink {

    /** For events and logs: {@code outbox/<dir>} or {@code s3://bucket/prefix/<dir>/}. */
    String describe();

    /** Whether {@code relative} is already there with {@code bytes} bytes (delivered before a restart). */
    boolean holds(String relative, long bytes);

    /** Delivers a complete local file (under data/.work) as {@code relative}; the file is used up. */
    void put(String relative, Path complete) throws IOException;

    /** Writes job.json; called after every output is in place. */
    void writeManifest(byte[] json) throws IOException;
}
