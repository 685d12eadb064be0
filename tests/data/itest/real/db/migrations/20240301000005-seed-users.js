'use strict';
const logger = require('../../helpers/logger');
const defineUser = require('../../models/user');

module.exports = {
  async up(queryInterface, Sequelize) {
    const User = defineUser(queryInterface.sequelize, Sequelize);
    const users = await User.bulkCreate([
      { email: 'ada@example.com', name: 'Ada', role: 'owner' },
      { email: 'grace@example.com', name: 'Grace' },
    ]);
    logger.info('seeded users', { count: users.length });
  },

  async down(queryInterface, Sequelize) {
    await queryInterface.bulkDelete('users', {
      email: { [Sequelize.Op.in]: ['ada@example.com', 'grace@example.com'] },
    });
  },
};
