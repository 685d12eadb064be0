'use strict';
const { id, timestamps } = require('../../helpers/columns');

// A managed transaction of the migration's own: everything in it commits or nothing does.
module.exports = {
  up: (queryInterface, Sequelize) =>
    queryInterface.sequelize.transaction(async (transaction) => {
      await queryInterface.createTable('orgs', {
        id: id(Sequelize),
        slug: { type: Sequelize.STRING(64), allowNull: false },
        plan: { type: Sequelize.STRING(20), allowNull: false, defaultValue: 'free' },
        ...timestamps(Sequelize),
      }, { transaction });
      await queryInterface.addIndex('orgs', ['slug'], { unique: true, name: 'orgs_slug', transaction });
    }),

  down: (queryInterface) =>
    queryInterface.sequelize.transaction(async (transaction) => {
      await queryInterface.removeIndex('orgs', 'orgs_slug', { transaction });
      await queryInterface.dropTable('orgs', { transaction });
    }),
};
