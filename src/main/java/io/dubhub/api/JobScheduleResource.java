package io.dubhub.api;

import io.dubhub.job.Job;
import io.dubhub.ledger.JobLedger;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.vugola.VugolaProvider;
import io.dubhub.provider.vugola.VugolaScheduler;
import jakarta.inject.Inject;
import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The social posts a job scheduled (Vugola's options.schedule): GET lists them (?live=true asks
 * Vugola for each one's current status), DELETE cancels those still scheduled.
 */
@Path("/api/jobs/{id}/schedule")
@Produces(MediaType.APPLICATION_JSON)
public class JobScheduleResource {

    @Inject
    JobLedger ledger;

    @Inject
    VugolaScheduler scheduler;

    @GET
    public Map<String, Object> list(@PathParam("id") String id, @QueryParam("live") boolean live) {
        vugolaJob(id);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("jobId", id);
        out.put("posts", scheduler.posts(id, live));
        return out;
    }

    @DELETE
    public Response cancel(@PathParam("id") String id) {
        vugolaJob(id);
        if (scheduler.posts(id, false).stream().noneMatch(p -> p.get("postId") != null)) {
            throw new NotFoundException("job " + id + " has no scheduled posts");
        }
        try {
            List<Map<String, Object>> results = scheduler.cancel(id);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("jobId", id);
            out.put("posts", results);
            return Response.ok(out).build();
        } catch (ProviderException e) {
            return Response.status(502).entity(Map.of("jobId", id, "error", e.getMessage())).build();
        }
    }

    private Job vugolaJob(String id) {
        Job job = ledger.find(id).orElseThrow(() -> new NotFoundException("no job " + id));
        if (!VugolaProvider.ID.equals(job.provider())) {
            throw new BadRequestException("job " + id + " is a " + job.provider() + " job; only Vugola jobs schedule posts");
        }
        return job;
    }
}
