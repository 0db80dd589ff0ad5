package io.dubhub.delivery;

import io.dubhub.config.HubConfig;
import io.dubhub.job.Job;
import io.dubhub.ledger.JobLedger;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.nio.file.Path;

/**
 * Where a job's outputs go: outbox/<source stem>/, or outbox/<stem>-<job id>/ when another job
 * already delivered under that name (a changed file dropped again). Chosen once, kept in the ledger.
 */
@ApplicationScoped
public class Sinks {

    @Inject
    HubConfig config;

    @Inject
    JobLedger ledger;

    public Path outbox() {
        return Path.of(config.dataDir(), "outbox");
    }

    public synchronized Path jobFolder(Job job) {
        Job current = ledger.load(job.id());
        String dir = current.outboxDir();
        if (dir == null) {
            String stem = OutputDownloader.safeName(job.sourceStem());
            dir = ledger.outboxDirTaken(stem, job.id()) ? stem + "-" + job.id() : stem;
            ledger.setOutboxDir(job.id(), dir);
        }
        return outbox().resolve(dir);
    }

    /** Temp files live outside the outbox so nothing half-written is ever visible there. */
    public Path workFolder(Job job) {
        return Path.of(config.dataDir(), ".work", job.id());
    }
}
