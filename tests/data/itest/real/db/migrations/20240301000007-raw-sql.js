'use strict';

module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('audit_events', {
      id: { type: Sequelize.INTEGER, primaryKey: true, autoIncrement: true },
      kind: { type: Sequelize.STRING(40), allowNull: false },
      note: Sequelize.TEXT,
    });
    await queryInterface.sequelize.query(
      'INSERT INTO audit_events (kind, note) VALUES (:kind, :note)',
      { replacements: { kind: 'migration', note: 'raw query with replacements' } },
    );
    const [rows] = await queryInterface.sequelize.query('SELECT COUNT(*) AS n FROM users');
    console.error(`users before the audit: ${rows[0].n}`);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('audit_events');
  },
};
