package io.dubhub.job;

import java.time.Instant;

/** One line of a job's timeline, as shown in the job API and the manifest. */
public record JobEvent(Instant at, String stage, String message) {
}
