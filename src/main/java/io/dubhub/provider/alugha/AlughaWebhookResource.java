package io.dubhub.provider.alugha;

import jakarta.inject.Inject;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.util.Map;

/**
 * {@code POST /webhooks/alugha/{jobId}?token=...}: the statusWebhook given to alugha with each
 * video. 202 when the job was made due, 200 for a job that already ended, 401 for a bad token,
 * 404 for a job the hub does not have; only {@link AlughaWebhook} decides.
 */
@Path("/webhooks/alugha/{jobId}")
public class AlughaWebhookResource {

    @Inject
    AlughaWebhook webhook;

    @POST
    @Produces(MediaType.APPLICATION_JSON)
    public Response receive(@PathParam("jobId") String jobId, @QueryParam("token") String token, String payload) {
        return switch (webhook.receive(jobId, token, payload)) {
            case ACCEPTED -> Response.accepted(Map.of("accepted", true)).build();
            case ENDED -> Response.ok(Map.of("accepted", false, "reason", "the job already ended")).build();
            case BAD_TOKEN -> Response.status(401).entity(Map.of("error", "invalid webhook token")).build();
            case UNKNOWN_JOB -> Response.status(404).entity(Map.of("error", "no such alugha job")).build();
        };
    }
}
