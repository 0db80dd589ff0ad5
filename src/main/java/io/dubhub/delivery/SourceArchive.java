package io.dubhub.delivery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.config.HubConfig;
import io.dubhub.intake.Intake;
import io.dubhub.job.Job;
import io.dubhub.job.Stage;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;

/**
 * Where a source goes when its job ends: done/<provider>/ when delivered, failed/<provider>/ with
 * an error.json an operator can act on. The sidecar travels with it. Nothing is ever deleted.
 */
@ApplicationScoped
public class SourceArchive {

    private static final Logger LOG = Logger.getLogger(SourceArchive.class);

    @Inject
    HubConfig config;

    @Inject
    ObjectMapper json;

    @Inject
    io.dubhub.intake.InboxMemory inboxMemory;

    @Inject
    BucketSourceArchive buckets;

    /** Returns where a folder source went; null for a bucket source (its route's afterJob applies). */
    public Path toDone(Job job) {
        var bucketSource = buckets.sourceOf(job);
        if (bucketSource.isPresent()) {
            buckets.toDone(job, bucketSource.get());
            return null;
        }
        return move(job, Path.of(config.dataDir(), "done", job.provider()));
    }

    public Path toFailed(Job job, Stage stage, String reason, String providerMessage) {
        var bucketSource = buckets.sourceOf(job);
        if (bucketSource.isPresent()) {
            buckets.toFailed(job, bucketSource.get(), errorReport(job, stage, reason, providerMessage));
            return null;
        }
        Path moved = move(job, Path.of(config.dataDir(), "failed", job.provider()));
        Path where = moved != null ? moved : Path.of(config.dataDir(), "failed", job.provider()).resolve(job.sourceName());
        ObjectNode error = errorReport(job, stage, reason, providerMessage);
        try {
            Files.createDirectories(where.getParent());
            Path errorFile = where.resolveSibling(where.getFileName() + ".error.json");
            Path tmp = errorFile.resolveSibling("." + errorFile.getFileName() + ".tmp");
            Files.writeString(tmp, json.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(error), StandardCharsets.UTF_8);
            moveAtomically(tmp, errorFile);
        } catch (IOException e) {
            LOG.errorf("Job %s: could not write error.json next to %s: %s", job.id(), where, e.getMessage());
        }
        return moved;
    }

    private ObjectNode errorReport(Job job, Stage stage, String reason, String providerMessage) {
        ObjectNode error = json.createObjectNode();
        error.put("jobId", job.id());
        error.put("provider", job.provider());
        error.put("source", job.sourceName());
        error.put("stage", stage.label());
        error.put("reason", reason);
        error.put("providerMessage", providerMessage);
        error.put("time", Instant.now().toString());
        error.put("retry", "Fix what the reason says, then drop the file into inbox/" + job.provider() + "/ again: it becomes a new job.");
        return error;
    }

    /** Moves the source (and its sidecar); a name already taken there gets the job id added. */
    private Path move(Job job, Path folder) {
        Path source = Path.of(job.sourceLocation());
        if (!Files.exists(source)) {
            LOG.warnf("Job %s: source %s is no longer where it was dropped; nothing to move", job.id(), source);
            return null;
        }
        try {
            Files.createDirectories(folder);
            Path target = folder.resolve(job.sourceName());
            if (Files.exists(target)) {
                String stem = job.sourceStem();
                String ext = job.sourceName().substring(stem.length());
                target = folder.resolve(stem + "." + job.id() + ext);
            }
            moveAtomically(source, target);
            inboxMemory.forget(source.toAbsolutePath().toString());
            Path sidecar = source.resolveSibling(job.sourceName() + Intake.SIDECAR_SUFFIX);
            if (Files.exists(sidecar)) {
                moveAtomically(sidecar, target.resolveSibling(target.getFileName() + Intake.SIDECAR_SUFFIX));
            }
            return target;
        } catch (IOException e) {
            LOG.errorf("Job %s: could not move %s to %s: %s", job.id(), source, folder, e.getMessage());
            return null;
        }
    }

    static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
