// Runs once, when the mongo container initialises an empty data volume: the services'
// own user, allowed to read and write only the gridcase databases (not the root user).
const databases = [
  "gridcase_intake",
  "gridcase_assignment",
  "gridcase_remediation",
];
db.getSiblingDB("admin").createUser({
  user: process.env.GRIDCASE_MONGO_USERNAME,
  pwd: process.env.GRIDCASE_MONGO_PASSWORD,
  roles: databases.map((name) => ({ role: "readWrite", db: name })),
});
