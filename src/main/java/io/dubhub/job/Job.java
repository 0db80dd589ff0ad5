package io.dubhub.job;

import java.time.Instant;

/** One row of the ledger's job table, as read at one moment. Change it through the ledger. */
public record Job(
        String id,
        String provider,
        String routeId,
        String sourceKey,
        String sourceLocation,
        String sourceName,
        long sourceSize,
        String sourceSha256,
        String specJson,
        String mediaJson,
        JobState state,
        String stage,
        String reason,
        String providerMessage,
        String providerRef,
        String providerData,
        Double credits,
        int attempts,
        Instant nextAt,
        Instant deadlineAt,
        String outboxDir,
        Instant createdAt,
        Instant updatedAt,
        Instant submittedAt,
        Instant finishedAt) {

    /** The file name without its last extension: names the job's outbox folder. */
    public String sourceStem() {
        int dot = sourceName.lastIndexOf('.');
        return dot > 0 ? sourceName.substring(0, dot) : sourceName;
    }
}
