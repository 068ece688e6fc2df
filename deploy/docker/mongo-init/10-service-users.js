// Runs once, when the mongo container initialises an empty data volume: one user per
// service that keeps data, each allowed to read and write only its own database (not the
// root user). Statistics keeps nothing in MongoDB and has no user.
const services = [
  { prefix: "INTAKE", database: "gridcase_intake" },
  { prefix: "ASSIGNMENT", database: "gridcase_assignment" },
  { prefix: "REMEDIATION", database: "gridcase_remediation" },
];
for (const { prefix, database } of services) {
  db.getSiblingDB("admin").createUser({
    user: process.env[`${prefix}_MONGO_USERNAME`],
    pwd: process.env[`${prefix}_MONGO_PASSWORD`],
    roles: [{ role: "readWrite", db: database }],
  });
}
