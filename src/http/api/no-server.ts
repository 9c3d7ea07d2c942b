/** The 404 message of an /api route for a server id the running config does not have. */
export const noServer = (id: string): string =>
  `no server "${id}" in servers.yaml; GET /api/servers lists the servers`;
