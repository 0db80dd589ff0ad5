package io.dubhub.api;

import io.dubhub.http.UrlRedactor;
import io.dubhub.job.Job;
import io.dubhub.job.JobState;
import io.dubhub.ledger.JobLedger;
import io.dubhub.pipeline.JobData;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.core.MediaType;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Job status for people and scripts: what happened, where it is, what came out, what went wrong. */
@Path("/api/jobs")
@Produces(MediaType.APPLICATION_JSON)
public class JobResource {

    @Inject
    JobLedger ledger;

    @Inject
    JobData jobData;

    @Inject
    io.dubhub.notify.NotificationOutbox outbox;

    @GET
    public List<Map<String, Object>> list(@QueryParam("state") String state, @QueryParam("provider") String provider,
                                          @QueryParam("limit") Integer limit) {
        JobState filter = null;
        if (state != null && !state.isBlank()) {
            try {
                filter = JobState.valueOf(state.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new BadRequestException("unknown state '" + state + "'; one of " + List.of(JobState.values()));
            }
        }
        return ledger.list(filter, provider, limit == null ? 100 : limit).stream().map(this::summary).toList();
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> get(@PathParam("id") String id) {
        Job job = ledger.find(id).orElseThrow(() -> new NotFoundException("no job " + id));
        Map<String, Object> out = summary(job);
        out.put("spec", jobData.tree(job.specJson()));
        out.put("media", jobData.tree(job.mediaJson()));
        out.put("providerMessage", job.providerMessage());
        out.put("attempts", job.attempts());
        out.put("nextCheckAt", job.state().active() ? job.nextAt() : null);
        out.put("deadlineAt", job.deadlineAt());
        out.put("languages", ledger.targets(id).stream().map(t -> {
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("language", t.language());
            l.put("state", t.state().name().toLowerCase(Locale.ROOT));
            l.put("providerId", t.providerRef());
            l.put("reason", t.reason());
            return l;
        }).toList());
        out.put("providerCalls", ledger.calls(id).stream().map(c -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("operation", c.operation());
            m.put("scope", c.scope());
            m.put("state", c.state().name().toLowerCase(Locale.ROOT));
            m.put("providerId", c.providerRef());
            m.put("at", c.updatedAt());
            return m;
        }).toList());
        out.put("outputs", ledger.outputs(id));
        out.put("notifications", outbox.forJob(id).stream().map(n -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("event", n.eventType());
            m.put("target", n.target());
            m.put("url", UrlRedactor.redact(n.url()));
            m.put("state", n.state().name().toLowerCase(Locale.ROOT));
            m.put("attempts", n.attempts());
            m.put("lastError", n.lastError());
            m.put("sentAt", n.sentAt());
            return m;
        }).toList());
        out.put("hosted", ledger.hostedOutputs(id));
        out.put("timeline", ledger.events(id).stream().map(e -> Map.of("at", e.at(), "stage", e.stage(),
                "message", UrlRedactor.redact(e.message()))).toList());
        return out;
    }

    private Map<String, Object> summary(Job job) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", job.id());
        m.put("provider", job.provider());
        m.put("route", job.routeId());
        m.put("source", job.sourceName());
        m.put("sourceBytes", job.sourceSize());
        m.put("sha256", job.sourceSha256());
        m.put("state", job.state().name().toLowerCase(Locale.ROOT));
        m.put("stage", job.stage() == null ? null : job.stage().toLowerCase(Locale.ROOT));
        m.put("reason", job.reason());
        m.put("providerId", job.providerRef());
        m.put("outbox", job.outboxDir() == null ? null : "outbox/" + job.outboxDir());
        m.put("createdAt", job.createdAt());
        m.put("submittedAt", job.submittedAt());
        m.put("finishedAt", job.finishedAt());
        return m;
    }
}
